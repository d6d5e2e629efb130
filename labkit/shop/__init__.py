"""The course's running example: one small web shop along the request path."""
