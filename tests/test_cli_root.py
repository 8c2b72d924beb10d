from typer.testing import CliRunner

from cartlens import __version__
from cartlens.cli import app


def test_version_flag_prints_package_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"cartlens {__version__}"
