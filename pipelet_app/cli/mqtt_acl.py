"""`pipelet mqtt-acl --out DIR`: Mosquitto users and topic rights for every site (ops, reads the database);
`pipelet mqtt-dynsec --out DIR`: the same for a Mosquitto with the dynamic security plugin (compose).

New passwords go to stdout once (`user password` per line) and nowhere else: not to the log, not to
stderr; the files hold only hashes. See docs/deployment.md "MQTT: one broker user per site".

The sites' hashes live in the database (`site_mqtt_credentials`), where operators issue and rotate them
in the portal and API too: a run writes what the database holds, stores the hashes of sites it gives a
new password, and takes over the hash a password file written before that table existed has for a site
the database does not know yet (so an upgrade keeps every gateway's password). The consumer's hash stays
in the file only: it is the installation's, not a site's.

The config fragment owns two listeners (`broker_acl.conf_snippet`): the gateways' one, where a client's
id is its user name (no site can take another site's session over), and the consumers' one, where
Pipelet's processes keep their own ids under their one shared login.

`pipelet mqtt-dynsec` writes the plugin's `dynamic-security.json` instead (what `pipelet run`'s embedded
broker starts from): the consumer's and admin's logins are those of MQTT_URL and MQTT_ADMIN_URL, sites are
those with an issued credential. It issues nothing and prints no secret (compose runs it before every
Mosquitto start and keeps its output in `docker compose logs`); later issues reach the broker over
MQTT_ADMIN_URL at once, and the plugin saves them into the same file.
"""

from __future__ import annotations

from pathlib import Path

import typer
from sqlmodel import select

from pipelet_app.cli._errors import BadInput, friendly_errors
from pipelet_app.db import session_scope
from pipelet_app.db.models import Site, SiteMqttCredential, Tenant
from pipelet_app.db.types import utcnow
from pipelet_app.settings import get_settings
from pipelet_app.site_energy import broker_acl, embedded_broker
from pipelet_app.site_energy.consumer import broker_login


@friendly_errors
def mqtt_acl(
    out: Path = typer.Option(..., "--out", help="Directory for `passwords`, `acl`, `pipelet-acl.conf`"),
    consumer_user: str = typer.Option(broker_acl.CONSUMER_USER, help="The broker user of Pipelet's consumer"),
    rotate: bool = typer.Option(False, "--rotate", help="New passwords for every user"),
    rotate_site: list[int] = typer.Option(
        [], "--rotate-site", help="A new password for this site's user only (repeatable)"
    ),
    site_listener: str = typer.Option(
        broker_acl.SITE_LISTENER, help="The gateways' listener: `PORT` or `PORT ADDRESS` (client id = user)"
    ),
    consumer_listener: str = typer.Option(
        broker_acl.CONSUMER_LISTENER, help="The consumers' listener, `PORT ADDRESS` (keep it private)"
    ),
) -> None:
    """Write Mosquitto's password_file and acl_file: user site-{id} may write only its site's two topics,
    the consumer user may read them all. Prints new passwords once; re-running keeps the others."""
    if not consumer_user or any(c in consumer_user for c in ": \t\n#"):
        raise BadInput(f"--consumer-user: {consumer_user!r} is not a broker user name")
    listeners = {}
    for option, value in (("--site-listener", site_listener), ("--consumer-listener", consumer_listener)):
        try:
            listeners[option] = broker_acl.listener(value)
        except ValueError as exc:
            raise BadInput(f"{option}: {exc}") from None
    if listeners["--site-listener"][0] == listeners["--consumer-listener"][0]:
        raise BadInput("--consumer-listener: the gateways' port; the consumers need a listener of their own")
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out: {out} is not a directory")
    existing = broker_acl.read_password_file(out / broker_acl.PASSWORD_FILE)
    with session_scope() as db:
        rows = db.exec(select(Site.id, Tenant.slug).join(Tenant, Tenant.id == Site.tenant_id)).all()
        sites = [broker_acl.SiteEntry(int(site_id), slug) for site_id, slug in rows]
        unknown = sorted(set(rotate_site) - {s.site_id for s in sites})
        if unknown:
            raise BadInput(f"--rotate-site: no site {unknown[0]}")
        stored = {row.site_id: row for row in db.exec(select(SiteMqttCredential)).all()}
        try:
            files = broker_acl.build(
                sites,
                existing,
                stored={site_id: row.password_hash for site_id, row in stored.items()},
                consumer_user=consumer_user,
                rotate=rotate,
                rotate_sites=rotate_site,
            )
        except ValueError as exc:
            raise BadInput(str(exc)) from exc
        for site_id, entry in files.site_hashes.items():
            row = stored.get(site_id)
            if row is None:
                db.add(SiteMqttCredential(site_id=site_id, password_hash=entry))
            elif row.password_hash != entry:
                row.password_hash, row.issued_at, row.issued_by = entry, utcnow(), None
                db.add(row)
        # the files first: a failed write leaves the database (and so the portal) as it was
        broker_acl.write(out, files, listeners["--site-listener"], listeners["--consumer-listener"])
    for user, password in files.issued:
        typer.echo(f"{user} {password}")
    if get_settings().mqtt_admin_url and any(user != consumer_user for user, _ in files.issued):
        # a broker with the dynamic security plugin learns a password only when it is issued to it
        typer.echo(
            "note: MQTT_ADMIN_URL is set, but the site passwords above went to these files and the "
            "database only, not to that broker; issue them on the site page or with "
            "POST /api/v1/sites/{id}/mqtt-credentials to make them live there",
            err=True,
        )
    typer.echo(
        f"{len(sites)} sites; {len(files.issued)} new passwords (above, not shown again), "
        f"{len(files.kept)} kept; include {out / broker_acl.CONF_FILE} in mosquitto.conf and reload it "
        "(restart it the first time: it opens listeners); "
        f"gateways connect on port {listeners['--site-listener'][0]}, the consumer with "
        f"MQTT_URL=mqtt://{consumer_user}:PASSWORD@HOST:{listeners['--consumer-listener'][0]}",
        err=True,
    )


MIN_PASSWORD = 16


@friendly_errors
def mqtt_dynsec(
    out: Path = typer.Option(..., "--out", help="Directory for `dynamic-security.json`"),
) -> None:
    """Write the dynamic security plugin's config from the database: every site with an issued credential
    (write its two topics, its own client id only), the consumer of MQTT_URL (read them all) and the admin
    of MQTT_ADMIN_URL (manage the plugin). Issues and prints no password."""
    settings = get_settings()
    logins = {}
    for name, url in (("MQTT_URL", settings.mqtt_url), ("MQTT_ADMIN_URL", settings.mqtt_admin_url)):
        user, password = broker_login(url or "")
        if not user or not password:
            raise BadInput(f"{name}: needs a login, mqtt://USER:PASSWORD@HOST:PORT (no anonymous client)")
        if len(password) < MIN_PASSWORD:  # the example env file's `change-me` included
            raise BadInput(f"{name}: the password is shorter than {MIN_PASSWORD} characters")
        if user.startswith("site-"):
            raise BadInput(f"{name}: {user!r} is a site's user name")
        logins[name] = (user, password)
    if logins["MQTT_URL"][0] == logins["MQTT_ADMIN_URL"][0]:
        raise BadInput("MQTT_ADMIN_URL: the consumer's user; the admin needs a user of its own")
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out: {out} is not a directory")
    site_hashes = embedded_broker.stored_hashes()
    path = embedded_broker.write_dynsec(out, site_hashes, logins["MQTT_URL"], logins["MQTT_ADMIN_URL"])
    typer.echo(
        f"{path}: {len(site_hashes)} sites with a credential, consumer {logins['MQTT_URL'][0]}, "
        f"admin {logins['MQTT_ADMIN_URL'][0]}",
        err=True,
    )
