# %preun of the vaultmx .rpm ($1: 0 erase, 1 upgrade): on erase, stop and disable the service.
if [ "$1" -eq 0 ]; then
    if [ -d /run/systemd/system ]; then
        systemctl stop vaultmx.service vaultmx.socket >/dev/null 2>&1 || :
    fi
    systemctl disable vaultmx.service vaultmx.socket >/dev/null 2>&1 || :
fi
