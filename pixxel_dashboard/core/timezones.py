"""The IANA time zones an organization may pick, read once (the scan of the zone files takes ~0.2 s)."""

import functools
import zoneinfo

# Continents and oceans: the first part of a current IANA name ("Europe/Berlin"). Anything else
# (legacy aliases like "US/Eastern", "Etc/GMT+5") is still accepted, listed under "Other".
REGIONS = (
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)
# Not zones a person means: "localtime" is whatever the server's clock is set to, "Factory" a
# placeholder whose abbreviation is "-00".
_NOT_ZONES = frozenset({"localtime", "Factory"})


@functools.cache
def available_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() - _NOT_ZONES) | {"UTC"}


@functools.cache
def zone_choices() -> list[tuple[str, str | list[tuple[str, str]]]]:
    """Choices for a <select>: UTC first, then one group per region ("Berlin" under "Europe"),
    then the rest, each sorted."""
    groups: dict[str, list[tuple[str, str]]] = {region: [] for region in REGIONS}
    other: list[tuple[str, str]] = []
    for name in sorted(available_zones() - {"UTC"}):
        region, _, place = name.partition("/")
        if region in groups and place:
            groups[region].append((name, place.replace("_", " ")))
        else:
            other.append((name, name))
    choices: list[tuple[str, str | list[tuple[str, str]]]] = [("UTC", "UTC")]
    choices += [(region, zones) for region, zones in groups.items() if zones]
    if other:
        choices.append(("Other", other))
    return choices
