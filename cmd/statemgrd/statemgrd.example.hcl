# statemgrd configuration (statemgrd -config statemgrd.hcl). Every
# attribute is optional; flags override the file. Values shown are the
# defaults unless marked "example".

data_dir        = "/var/lib/statemgr"   # example; default: $STATE_DIRECTORY, /var/lib/statemgr as root, ~/.local/state/statemgr
storage_profile = "bmc"                 # bmc (256-512 MB devices, 64 MiB Go memory limit) or server
platform_file   = ""                    # the built-in simulated platform when empty
# unconfigured  = true                  # no platform until statemgr config set gives one (docs/BACKUP.md)
log_format      = "text"                # text or json
log_level       = "info"                # trace, debug, info, warn, error
http_listen     = "127.0.0.1:9090"      # /metrics, /healthz, /readyz; "" disables
shutdown_grace  = "10s"                 # how long SIGTERM waits for in-flight work

nats {
  listen = "127.0.0.1:4222"             # the embedded server; a non-loopback address needs users, and TLS
  # allow_cleartext = true              # users beyond loopback without TLS: passwords cross the network in clear (the daemon warns)
  # max_payload = 4194304              # bytes (4 KiB to 64 MiB; default 1 MiB): the largest message; replies page under it
  # url        = "nats://nats.example:4222"   # an external server instead of the embedded one
  # creds_file = "/etc/statemgr/statemgrd.creds"

  # Users of the embedded server. A viewer reads and subscribes; an operator
  # also controls; a service only reports its own self-state.
  user "otto" {
    password = "change-me"              # example
    role     = "operator"
  }
  user "vera" {
    password = "change-me-too"          # example
    role     = "viewer"
  }
}

# What the coordinator decides by.
policy {
  chassis_off              = "reject"     # reject (refuse while hosts are not Off) or shutdown_hosts
  host_on                  = "reject"     # reject (needs the chassis On) or power_chassis
  max_concurrent_power_ons = 1            # host power-ons in flight; more wait their turn
  power_restore            = "AlwaysOff"  # AlwaysOff, AlwaysOn or LastState; applied only after an AC loss
  power_restore_delay      = "0s"
  auto_reboot              = false        # reboot a crashed host while boot attempts are left
  boot_attempts            = 3
  thermal_critical         = "force_off"  # force_off, graceful_shutdown or isolate_component
  graceful_timeout         = "300s"       # before a graceful shutdown escalates to a button hold
  reconcile_interval       = "5s"         # how often the coordinator reads PSU input and thermal zones
}

# Where statemgr checkpoint create keeps checkpoints of the whole state
# (docs/BACKUP.md): a local directory (a USB key or an NFS mount, outside
# data_dir) or a NATS JetStream object store bucket (bucket = "..."; on the
# embedded server JetStream is then turned on, under data_dir/jetstream).
checkpoints {
  dir  = "/media/usb/statemgr"
  keep = 7                                # the newest 7; 0 keeps all
}
