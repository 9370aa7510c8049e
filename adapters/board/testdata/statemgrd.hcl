# statemgrd on the emulated board: NATS on every interface so that QEMU's
# user network can forward the host's port to it; users are required off
# loopback, and the harness's network is QEMU's private one, hence cleartext.
data_dir        = "/var/data"
storage_profile = "bmc"
platform_file   = "/etc/platform.hcl"
http_listen     = ""

nats {
  listen          = "0.0.0.0:4222"
  allow_cleartext = true
  user "board" {
    password = "board-harness"
    role     = "operator"
  }
}
