package redistest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Certs are PEM files that openssl made for a test: a CA, a server
// certificate it signed (for 127.0.0.1 and localhost), a client
// certificate it signed, and a second CA that signed none of them (a CA
// against which the server's certificate does not verify).
type Certs struct {
	Dir                   string
	CA, CAKey             string
	ServerCert, ServerKey string
	ClientCert, ClientKey string
	OtherCA, OtherCAKey   string
	OtherCert, OtherKey   string // a client certificate of OtherCA
}

// MakeCerts makes Certs in dir with openssl (apt-get install -y openssl).
func MakeCerts(dir string) (*Certs, error) {
	if _, err := exec.LookPath("openssl"); err != nil {
		return nil, fmt.Errorf("openssl not found (apt-get install -y openssl): %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f := func(name string) string { return filepath.Join(dir, name) }
	c := &Certs{Dir: dir, CA: f("ca.crt"), CAKey: f("ca.key"), ServerCert: f("server.crt"), ServerKey: f("server.key"),
		ClientCert: f("client.crt"), ClientKey: f("client.key"), OtherCA: f("other-ca.crt"), OtherCAKey: f("other-ca.key"),
		OtherCert: f("other-client.crt"), OtherKey: f("other-client.key")}
	ec := []string{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"}
	steps := [][]string{
		append([]string{"req", "-x509", "-new", "-days", "2", "-subj", "/CN=rrr test CA", "-keyout", c.CAKey, "-out", c.CA}, ec...),
		append([]string{"req", "-x509", "-new", "-days", "2", "-subj", "/CN=rrr other CA", "-keyout", c.OtherCAKey, "-out", c.OtherCA}, ec...),
	}
	sign := func(name, ca, caKey, cert, key, ext string) {
		steps = append(steps,
			append([]string{"req", "-new", "-subj", "/CN=" + name, "-keyout", key, "-out", cert + ".csr"}, ec...),
			[]string{"x509", "-req", "-days", "2", "-in", cert + ".csr", "-CA", ca, "-CAkey", caKey, "-CAcreateserial",
				"-out", cert, "-extfile", ext})
	}
	serverExt, clientExt := f("server.ext"), f("client.ext")
	if err := os.WriteFile(serverExt, []byte("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(clientExt, []byte("extendedKeyUsage=clientAuth\n"), 0o600); err != nil {
		return nil, err
	}
	sign("localhost", c.CA, c.CAKey, c.ServerCert, c.ServerKey, serverExt)
	sign("rrr", c.CA, c.CAKey, c.ClientCert, c.ClientKey, clientExt)
	sign("stranger", c.OtherCA, c.OtherCAKey, c.OtherCert, c.OtherKey, clientExt)
	for _, args := range steps {
		if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("openssl %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	return c, nil
}

// ClientTLS is a TLS configuration that trusts the CA and presents the
// client certificate.
func (c *Certs) ClientTLS() *tls.Config {
	pool := x509.NewCertPool()
	if pem, err := os.ReadFile(c.CA); err == nil {
		pool.AppendCertsFromPEM(pem)
	}
	tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if pair, err := tls.LoadX509KeyPair(c.ClientCert, c.ClientKey); err == nil {
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc
}
