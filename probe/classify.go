package probe

import (
	"context"
	"crypto/tls"
	"fmt"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/trust"
)

// CitizenDomain is the Mon espace santé domain (research mssante.md §1).
const CitizenDomain = "patient.mssante.fr"

// classified makes cn record the server's classification (package trust)
// once its certificate is seen, and refuse a revoked one (Ref#2
// ECO.1.1.6) before anything is sent.
func (r *runner) classified(cn *connector) *connector {
	cn.classify = func(ctx context.Context, s *stepRec, ep *Endpoint, st tls.ConnectionState, name string, verified bool) bool {
		c := r.policy.ClassifyServer(ctx, trust.Server{
			Proto: cn.rules.name, Name: name, Addr: ep.Addr, MailDomain: domainOf(r.cfg.Establishment.Address),
			State: st, Now: r.opts.Now(), Revocation: verified, Timeout: r.timeout(),
		})
		ep.Class = &ServerClass{
			Anchor: c.Anchor, AnchorName: c.AnchorName, ServSSL: c.ServSSL, Revocation: c.Revocation, RevocationSource: c.RevocationSource,
			Address: c.Address, TrustSpace: c.TrustSpace, TLSAcceptable: c.TLSAcceptable,
		}
		for _, d := range c.Decisions {
			s.add(d.Rule, Status(d.Outcome), d.Message)
		}
		cn.tr.note("server classification: anchor %s (%s), SERV SSL %v, revocation %s, address %s, trust space %v, TLS acceptable %v",
			c.Anchor, c.AnchorName, c.ServSSL, c.Revocation, c.Address, c.TrustSpace, c.TLSAcceptable)
		return c.Revocation != trust.RevRevoked
	}
	return cn
}

// environment decides what the run proves: MSSanté only when both servers
// chain to IGC-Santé production with a SERV SSL profile, on public
// addresses, the target is on patient.mssante.fr and the reply came from
// it; TEST otherwise, every reason listed. It is recorded in the result
// and as the ENV-001 check of the verdict step.
func (r *runner) environment(s *stepRec) {
	var reasons []check.Text
	for _, e := range []struct {
		proto string
		ep    *Endpoint
	}{{"SMTP", &r.res.SMTP}, {"IMAP", &r.res.IMAP}} {
		c := e.ep.Class
		if c == nil {
			reasons = append(reasons, check.Textf("%s : aucun certificat de serveur vu", "%s: no server certificate seen", e.proto))
			continue
		}
		if c.Anchor != trust.AnchorProd {
			reasons = append(reasons, anchorReason(e.proto, c))
		}
		if !c.ServSSL {
			reasons = append(reasons, check.Textf("%s : certificat sans profil SERV SSL", "%s: certificate without the SERV SSL profile", e.proto))
		}
		if c.Address != trust.AddrPublic {
			reasons = append(reasons, addressReason(e.proto, c.Address, e.ep.Addr))
		}
	}
	if domainOf(r.cfg.Target) != CitizenDomain {
		reasons = append(reasons, check.Textf("adresse citoyenne %s hors de %s", "citizen address %s is not on %s", r.cfg.Target, CitizenDomain))
	}
	replied := false
	for _, m := range r.res.Messages {
		if m.Kind == KindReply && domainOf(m.From) == CitizenDomain {
			replied = true
		}
	}
	if !replied {
		reasons = append(reasons, check.Textf("aucune réponse venue de %s", "no reply came from %s", CitizenDomain))
	}
	r.res.Environment = Environment{Kind: EnvMSSante, Reasons: reasons}
	if len(reasons) == 0 {
		s.pass(RuleEnvironment, check.Text{FR: "Environnement MSSanté : serveurs IGC-Santé (SERV SSL) sur adresses publiques, réponse de " + CitizenDomain,
			EN: "MSSanté environment: IGC-Santé servers (SERV SSL) on public addresses, reply from " + CitizenDomain})
		return
	}
	r.res.Environment.Kind = EnvTest
	s.fail(RuleEnvironment, check.Textf("TEST : ce n'est pas l'espace de confiance MSSanté réel (%s)", "TEST: not the real MSSanté trust space (%s)", check.JoinTexts(reasons)))
}

func anchorReason(proto string, c *ServerClass) check.Text {
	kind := map[string][2]string{
		trust.AnchorTest: {"IGC-Santé de TEST", "IGC-Santé TEST"}, trust.AnchorPublic: {"autorité publique", "public authority"},
		trust.AnchorPrivate: {"autorité privée", "private authority"}, trust.AnchorNone: {"aucune chaîne vérifiée", "no chain verified"},
	}[c.Anchor]
	return check.Text{
		FR: fmt.Sprintf("%s : autorité « %s » (%s), pas l'IGC-Santé de production", proto, c.AnchorName, kind[0]),
		EN: fmt.Sprintf("%s: authority %q (%s), not IGC-Santé production", proto, c.AnchorName, kind[1]),
	}
}

func addressReason(proto, class, addr string) check.Text {
	w := map[string][2]string{trust.AddrLoopback: {"de bouclage", "loopback"}, trust.AddrPrivate: {"privée", "private"}}[class]
	return check.Text{FR: fmt.Sprintf("%s : adresse %s %s", proto, w[0], addr), EN: fmt.Sprintf("%s: %s address %s", proto, w[1], addr)}
}
