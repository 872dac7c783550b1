"""The error type for user mistakes, which the command line prints as one line."""


class UserError(ValueError):
    """A mistake in what the user gave us (a path, an option, a file's contents).

    The message names the bad input and the fix; ``main`` prints it without a
    traceback and exits with status 2.
    """
