package mocks

import (
	"html/template"
	"net/http"
	"time"

	"github.com/msscprobe/msscprobe/check"
)

// The page at / of the HTTP API: for a person watching a test run, the
// messages of every mailbox with their conformance verdict and findings,
// in French (the people reading it run French health software).

type pageData struct {
	Folders                         []pageFolder
	Shown, NonConforming, Unchecked int
}

type pageFolder struct {
	Address, Folder string
	Total           int
	Messages        []apiMessage
}

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	// more is how many findings the verdict did not keep.
	"more": func(c apiConformance) int { return max(c.Count-len(c.Findings), 0) },
	"verdict": func(status string) string {
		switch status {
		case StatusConforming:
			return "conforme"
		case StatusNonConforming:
			return "non conforme"
		}
		return "non vérifié"
	},
	"severity": func(s check.Severity) string { return s.Label(check.FR) },
	"date":     func(t time.Time) string { return t.Local().Format("02/01/2006 15:04:05") },
	"folder": func(name string) string {
		switch name {
		case "INBOX":
			return "Boîte de réception"
		case "Sent":
			return "Envoyés"
		}
		return name
	},
}).Parse(`<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<title>msscprobe — opérateur MSSanté simulé</title>
<style>
body { font-family: sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; }
h2 { font-size: 1.1em; margin-top: 1.6em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #bbb; padding: 0.35em 0.5em; text-align: left; vertical-align: top; }
/* Fixed columns: long addresses, OIDs and hashes wrap inside them instead
   of pushing the findings off the right edge. */
table { table-layout: fixed; }
th:nth-child(1) { width: 6.5em; }
th:nth-child(2), th:nth-child(3) { width: 12%; }
th:nth-child(4) { width: 14%; }
th:nth-child(5) { width: 7.5em; }
td { overflow-wrap: anywhere; }
th { background: #eee; }
.conforming { color: #0a6b1f; font-weight: bold; }
.non-conforming { color: #b00020; font-weight: bold; }
.unchecked { color: #666; }
ul { margin: 0; padding-left: 1.2em; }
code { font-size: 0.95em; }
.note { color: #555; }
</style>
</head>
<body>
<h1>Opérateur MSSanté simulé (msscprobe) — messages reçus</h1>
<p class="note">Usage de test uniquement. Données : <a href="/api/v1/mailboxes">API JSON</a>, <a href="/api/v1/openapi.json">description OpenAPI</a>.</p>
{{- if not .Folders}}
<p>Aucun message reçu pour l’instant.</p>
{{- else}}
<p id="resume">{{.Shown}} message{{if gt .Shown 1}}s{{end}} affiché{{if gt .Shown 1}}s{{end}} : <span{{if .NonConforming}} class="non-conforming"{{end}}>{{.NonConforming}} non conforme{{if gt .NonConforming 1}}s{{end}}</span>, {{.Unchecked}} non vérifié{{if gt .Unchecked 1}}s{{end}}.</p>
{{- end}}
{{- range .Folders}}
<h2>{{.Address}} — {{folder .Folder}} ({{.Total}} message{{if gt .Total 1}}s{{end}})</h2>
<table>
<thead><tr><th>Reçu le</th><th>De</th><th>À</th><th>Objet</th><th>Verdict</th><th>Constats</th></tr></thead>
<tbody>
{{- range .Messages}}
<tr>
<td>{{date .InternalDate}}</td>
<td>{{range $i, $a := .From}}{{if $i}}, {{end}}{{$a}}{{end}}</td>
<td>{{range $i, $a := .To}}{{if $i}}, {{end}}{{$a}}{{end}}</td>
<td><a href="{{.RawURL}}">{{if .Subject}}{{.Subject}}{{else}}(sans objet){{end}}</a></td>
<td class="{{.Conformance.Status}}">{{verdict .Conformance.Status}}</td>
<td>{{if .Conformance.Findings}}<ul>{{range .Conformance.Findings}}<li><code>{{.Rule}}</code> {{severity .Severity}} : {{.Message.FR}}{{if .Source}} ({{.Source}}){{end}}</li>{{end}}</ul>{{with more .Conformance}}<p class="note">et {{.}} autre{{if gt . 1}}s{{end}} constat{{if gt . 1}}s{{end}} (msscprobe message check les donne tous)</p>{{end}}{{else}}—{{end}}</td>
</tr>
{{- end}}
</tbody>
</table>
{{- end}}
</body>
</html>
`))

func (o *Operator) handlePage(w http.ResponseWriter, r *http.Request) error {
	var data pageData
	for _, addr := range o.Mailboxes() {
		u, _ := o.store.user(addr, false)
		if u == nil {
			continue
		}
		for _, name := range u.mem.Mailboxes() {
			infos, err := u.mem.Messages(name, 0, 0)
			if err != nil || len(infos) == 0 {
				continue
			}
			pf := pageFolder{Address: addr, Folder: name, Total: len(infos)}
			// The most recent first, a bounded number of them.
			for i := len(infos) - 1; i >= 0 && len(pf.Messages) < pageFolderShown; i-- {
				m := o.apiMessage(addr, name, infos[i])
				pf.Messages = append(pf.Messages, m)
				data.Shown++
				switch m.Conformance.Status {
				case StatusNonConforming:
					data.NonConforming++
				case StatusUnchecked:
					data.Unchecked++
				}
			}
			data.Folders = append(data.Folders, pf)
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	return pageTmpl.Execute(w, data)
}
