# %post of the vaultmx .rpm ($1: 1 install, 2 upgrade). vaultmx-setup creates the user, folders,
# master key and (when none exists) a self-signed certificate. A first install enables the service
# but does not start it (the admin sets the certificate first); an upgrade restarts it if running.
/usr/libexec/vaultmx/vaultmx-setup || exit 1
if [ "$1" -eq 1 ]; then
    systemctl enable vaultmx.socket vaultmx.service >/dev/null 2>&1 || :
    cat <<'NOTICE'
vaultmx: installed and enabled, NOT started. Before starting it:
  1. Back up the master key /var/lib/vaultmx/keys/master.key somewhere safe:
     without it no stored mail can be read.
  2. Set your mail host's certificate in /etc/vaultmx/vaultmx.toml [tls]
     (a self-signed one for localhost is in /var/lib/vaultmx/tls for now).
  3. Check the configuration: vaultmxd -c /etc/vaultmx/vaultmx.toml --check-config
  4. Start it: systemctl start vaultmx
  5. The self-service portal (HTTPS on 443, redirect on 80) is off until you want it:
     systemctl enable --now vaultmx-portal
NOTICE
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
