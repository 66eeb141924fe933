package mocks

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// web is one of the mock's HTTP listeners: the PKI's (CRLs, OCSP, CA
// certificates, ocsp.go) and the Pro Santé Connect issuer's (psc.go), two
// hosts in the real world.
type web struct {
	srv  *http.Server
	ln   net.Listener
	once sync.Once
	done chan struct{}
}

// bindWeb binds a listener so that certificates and the issuer can name
// its address before it serves; nil and "" when addr is "off".
func (o *Operator) bindWeb(name, addr string) (*web, string, error) {
	if strings.EqualFold(addr, "off") {
		return nil, "", nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("listen %s on %s: %w", name, addr, err)
	}
	o.addrs[name] = ln.Addr().String()
	return &web{ln: ln, done: make(chan struct{})}, "http://" + ln.Addr().String(), nil
}

// serve serves h, with bounded headers, bodies and times.
func (w *web) serve(h http.Handler, rec *recorder, name string) {
	w.srv = &http.Server{
		Handler:           http.MaxBytesHandler(h, maxHTTPBody),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() {
		defer close(w.done)
		if err := w.srv.Serve(w.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			rec.add(Event{Proto: name, Kind: "error", Detail: err.Error()})
		}
	}()
}

// stop closes the listener and its connections; safe on nil, more than
// once, and before serve.
func (w *web) stop() error {
	if w == nil {
		return nil
	}
	var err error
	w.once.Do(func() {
		if w.srv == nil {
			err = w.ln.Close()
			return
		}
		err = w.srv.Close()
		<-w.done
	})
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// startPKI binds the PKI and Pro Santé Connect listeners, creates the PKI
// and the token issuer whose URLs point at them, then serves.
func (o *Operator) startPKI() error {
	var pkiBase, pscBase string
	var err error
	if o.pkiWeb, pkiBase, err = o.bindWeb(lnPKI, o.cfg.ListenPKI); err == nil {
		o.pscWeb, pscBase, err = o.bindWeb(lnPSC, o.cfg.ListenPSC)
	}
	if err == nil {
		o.pki, err = newPKI(o.cfg.PKI, newPKIURLs(pkiBase))
	}
	if err == nil {
		err = o.pki.issueOrgCerts(o.cfg.Accounts[0].Address)
	}
	if err == nil {
		o.psc, err = newPSC(o.cfg.PSC, pscBase, o.rec)
	}
	if err != nil {
		o.stopWeb()
		return err
	}
	if o.pkiWeb != nil {
		mux := http.NewServeMux()
		mux.HandleFunc(pathOrgCRL, o.handleCRL)
		mux.HandleFunc(pathRootCRL, o.handleCRL)
		mux.HandleFunc(pathOCSP, o.handleOCSP)
		mux.HandleFunc(pathOrgCert, o.handleCACert)
		mux.HandleFunc(pathRootCert, o.handleCACert)
		o.pkiWeb.serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// GET /ocsp/<base64> bypasses the mux: base64 may hold "//",
			// which ServeMux would redirect to a cleaned path.
			if strings.HasPrefix(r.URL.Path, pathOCSP+"/") {
				o.handleOCSP(w, r)
				return
			}
			mux.ServeHTTP(w, r)
		}), o.rec, lnPKI)
	}
	if o.pscWeb != nil {
		mux := http.NewServeMux()
		o.psc.register(mux, o.checkPassword)
		o.pscWeb.serve(mux, o.rec, lnPSC)
	}
	return nil
}

// stopWeb closes the HTTP listeners.
func (o *Operator) stopWeb() error {
	return errors.Join(o.pkiWeb.stop(), o.pscWeb.stop(), o.apiWeb.stop())
}
