package config

import (
	"strings"
	"testing"
)

func TestPhysicalBackupSettings(t *testing.T) {
	c, err := Resolve(flags(t), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.PgBackRestConfig != "/etc/pgbackrest/pgbackrest.conf" || c.Stanza != "quantx" || c.S3CAFile != "" {
		t.Fatalf("defaults: %+v", c)
	}
	file := write(t, "q.yaml", "stanza: fromfile\ns3_ca_file: /file/ca.pem\ns3_tls: true\npgbackrest_config: /file/pgbackrest.conf\ns3_region: eu-west-1\n")
	c, err = Resolve(flags(t, "--config", file, "--stanza", "fromflag"),
		env(map[string]string{"QUANTX_S3_CA_FILE": "/env/ca.pem", "QUANTX_PGBACKREST_CONFIG": "/env/pgbackrest.conf", "QUANTX_STANZA": "fromenv"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Stanza != "fromflag" || c.S3CAFile != "/env/ca.pem" || c.PgBackRestConfig != "/env/pgbackrest.conf" || c.S3Region != "eu-west-1" {
		t.Fatalf("precedence: %+v", c)
	}
	for _, bad := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--s3-ca-file", "/ca.pem"}, nil, "s3-tls is off"},
		{[]string{"--stanza", "a b"}, nil, "stanza"},
		{[]string{"--stanza", "../x"}, nil, "stanza"},
		{nil, map[string]string{"QUANTX_STANZA": "x]"}, "stanza"},
		{[]string{"--pgbackrest-config", ""}, nil, "pgbackrest-config"},
	} {
		if _, err := Resolve(flags(t, bad.args...), env(bad.env)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%v %v: %v, want an error about %s", bad.args, bad.env, err, bad.want)
		}
	}
	if _, err := Resolve(flags(t, "--s3-ca-file", "/ca.pem", "--s3-tls"), env(nil)); err != nil {
		t.Errorf("CA file with TLS: %v", err)
	}
}
