"""Why the organization's Pixxel key cannot be used: one base class, so callers catch one name."""


class KeyProblem(Exception):
    """The organization has no usable Pixxel key; `user_message` says what to do about it."""

    user_message = "The organization's Pixxel API key cannot be used."

    def __str__(self):
        return self.user_message


class NoActiveKey(KeyProblem):
    user_message = (
        "This organization has no Pixxel API key yet. An owner or admin can add one in "
        "Settings → API keys."
    )


class KeyUnreadable(KeyProblem):
    """A stored key cannot be decrypted with the configured encryption keys."""

    user_message = (
        "The stored Pixxel API key can no longer be read (the server's encryption keys changed). "
        "An owner or admin must re-enter the API key in Settings → API keys."
    )
