"""Form mixins shared by every app's forms."""


class PlainLabels:
    """Labels read exactly as written ("Role", not "Role:"), for people and for tests alike."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
