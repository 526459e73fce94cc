"""Characters that text a person or a mail sent us may not carry further: one table each,
shared by the form, the channels, the customer's page, complaints and mail headers."""

from __future__ import annotations

import re

# The C0 and C1 control characters but tab, line feed and carriage return, and DEL: they
# mean nothing in a text box, and some terminals and mail clients act on them.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# The explicit directional formatting characters (Unicode UAX #9 section 2: embeddings,
# overrides, isolates), for ``str.translate`` to remove: text holding U+202E reads reversed
# ("Trojan Source", CVE-2021-42574), in a page or in the reader's list of mails. The
# implicit marks U+200E/U+200F stay: right-to-left text needs them and they reorder nothing
# on their own.
BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
