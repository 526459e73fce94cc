"""The survey mail says what its links do: a score link opens the survey page with that
score chosen, and the score counts once the customer presses the page's button. (It used
to say "one click is enough", which left a customer thinking she had answered.)"""

import pytest

from helpdesk.render import language_words, render, score_labels

LANGUAGES = ("en", "zh", "ru")


def survey_mail(language: str) -> tuple[str, str]:
    links = [
        {"score": score, "url": f"https://support.example/survey/t?score={score}", "label": label}
        for score, label in score_labels(language).items()
    ]
    mail = render(
        "survey",
        language,
        {
            "ref": "HD-7K3M9Q",
            "subject": "Kettle",
            "customer_name": "Lena",
            "score_links": links,
            "helpdesk_name": "Example Support",
        },
    )
    return mail.text, mail.html


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_survey_mail_names_the_button_that_records_the_score(language: str) -> None:
    button = language_words("survey_page", language)["send"]
    text, html = survey_mail(language)

    for part in (text, html):
        assert f"“{button}”" in part or f"«{button}»" in part, (language, part)


@pytest.mark.parametrize(
    ("language", "promise"),
    [("en", "one click"), ("zh", "点击一下"), ("ru", "одного нажатия"), ("ru", "одно нажатие")],
)
def test_the_survey_mail_no_longer_promises_that_one_click_answers(
    language: str, promise: str
) -> None:
    text, html = survey_mail(language)

    assert promise not in text.lower()
    assert promise not in html.lower()
