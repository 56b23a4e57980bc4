"""Expected failures: the CLI prints their message on one line and exits non-zero, without a traceback."""


class FlutexError(Exception):
    """A failure the user can act on; the message says what to do."""

    exit_code = 1


class UsageError(FlutexError):
    """Bad input on the command line or in a file the user named."""

    exit_code = 2
