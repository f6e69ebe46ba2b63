"""The one exception type the package raises for unusable input files."""


class ResultsFileError(Exception):
    """A file is missing, is not HDF5, or is not an msweep results file this reader knows.

    The message is always one line naming the file and what was expected, so the
    command line can print it as is (no traceback) and tests can match it.
    """

    def __init__(self, path, problem):
        self.path = str(path)
        self.problem = " ".join(str(problem).split())  # one line, whatever the cause said
        super().__init__(f"{self.path}: {self.problem}")
