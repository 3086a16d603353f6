# %postun of the vaultmx .rpm ($1: 0 erase, 1 upgrade). Upgrade: restart the service if it runs.
# Erase keeps /var/lib/vaultmx (mail, certificate and the master key that alone can read the mail),
# the logs and a changed config (vaultmx.toml.rpmsave): rpm has no purge, the admin removes them.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -ge 1 ]; then
        systemctl try-restart vaultmx.service >/dev/null 2>&1 || :
    fi
fi
if [ "$1" -eq 0 ]; then
    rm -rf /run/vaultmx
    if [ -d /var/lib/vaultmx ]; then
        echo "vaultmx: removed. /var/lib/vaultmx (mail, certificate, master key) is KEPT; remove it by hand (rm -rf /var/lib/vaultmx) only when you no longer need the mail."
    fi
fi
