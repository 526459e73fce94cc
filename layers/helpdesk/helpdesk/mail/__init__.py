"""Mail: parsing inbound MIME, recognising robots, composing outbound mail."""
