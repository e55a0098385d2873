"""Options of the whole suite (pytest reads ``pytest_addoption`` only from the root conftest)."""


def pytest_addoption(parser):
    parser.addoption(
        "--long",
        action="store_true",
        help="run the reliability suite at full size (1,000-message soak, 100 kernel cycles)",
    )
