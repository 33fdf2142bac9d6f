"""The one error type the CLI turns into a clear line and exit code 2."""


class AfkdError(Exception):
    """Bad input or an unmet precondition, phrased for the user.

    The message names the thing (file, record, layer) and the problem, in one line,
    for example ``"data/A00001.hea: header says 9000 samples but the .mat holds 8000"``.
    """
