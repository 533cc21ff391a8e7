"""Where things live, in one place for every script."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OPENAPI = ROOT / "openapi"
PIN = OPENAPI / "postal_mail.yaml"
OVERLAYS = OPENAPI / "overlays"
TEMPLATES = OPENAPI / "templates"
GENERATOR_CONFIG = OPENAPI / "generator.yaml"
LOCK = OPENAPI / "spec.lock"
CHANGES = OPENAPI / "CHANGES.md"
GENERATED = ROOT / "generated_client"
# Where the pin travels inside the generated package (relative to generated_client/).
SHIPPED_SPEC = Path("hubspot_postal_mail_client/postal_mail.openapi.yaml")
# The pin's sha256 as a constant of the generated package (its __spec_sha256__).
PIN_MODULE = Path("hubspot_postal_mail_client/_pin.py")


def overlay_files() -> list[Path]:
    return sorted(OVERLAYS.glob("*.yaml"))


def template_files() -> list[Path]:
    return sorted(p for p in TEMPLATES.rglob("*") if p.is_file())
