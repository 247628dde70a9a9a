import textkit


def test_version_is_set():
    assert textkit.__version__ == "0.1.0"
