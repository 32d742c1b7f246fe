"""Production static files: collectstatic with whitenoise's manifest storage hashes and compresses."""

import json

from django.core.management import call_command
from django.test import override_settings


def test_collectstatic_produces_hashed_compressed_assets(tmp_path):
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=storages):
        call_command("collectstatic", interactive=False, verbosity=0)
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    for name in ("css/app.css", "js/app.js", "vendor/htmx-2.0.11.min.js"):
        hashed = manifest[name]
        assert hashed != name
        assert (tmp_path / hashed).exists()
        assert (tmp_path / (hashed + ".gz")).exists()
