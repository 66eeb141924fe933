# Auto-responder of the citizen test mailbox: answers every message, like
# the MSS citoyenne test mailbox reponse.automatique-test@patient.mssante.fr.
# Pigeonhole's vacation reply carries In-Reply-To and References naming the
# original Message-ID, and Auto-Submitted: auto-replied.
require ["vacation", "vacation-seconds"];
vacation :seconds 0 "Message bien reçu par la messagerie de test du patient (msscprobe realmail).";
