package smtpd

import (
	"github.com/emersion/go-smtp"
)

// The protocol types are go-smtp's: sessions written for go-smtp serve
// here unchanged.
type (
	EnhancedCode     = smtp.EnhancedCode
	SMTPError        = smtp.SMTPError
	Session          = smtp.Session
	AuthSession      = smtp.AuthSession
	LMTPSession      = smtp.LMTPSession
	StatusCollector  = smtp.StatusCollector
	Logger           = smtp.Logger
	BodyType         = smtp.BodyType
	DSNReturn        = smtp.DSNReturn
	MailOptions      = smtp.MailOptions
	DSNNotify        = smtp.DSNNotify
	DSNAddressType   = smtp.DSNAddressType
	DeliverByMode    = smtp.DeliverByMode
	DeliverByOptions = smtp.DeliverByOptions
	PriorityProfile  = smtp.PriorityProfile
	RcptOptions      = smtp.RcptOptions
)

var (
	NoEnhancedCode          = smtp.NoEnhancedCode
	EnhancedCodeNotSet      = smtp.EnhancedCodeNotSet
	ErrDataTooLarge         = smtp.ErrDataTooLarge
	ErrServerClosed         = smtp.ErrServerClosed
	ErrDataReset            = smtp.ErrDataReset
	ErrAuthFailed           = smtp.ErrAuthFailed
	ErrAuthRequired         = smtp.ErrAuthRequired
	ErrAuthUnsupported      = smtp.ErrAuthUnsupported
	ErrAuthUnknownMechanism = smtp.ErrAuthUnknownMechanism
)

const (
	Body7Bit             = smtp.Body7Bit
	Body8BitMIME         = smtp.Body8BitMIME
	BodyBinaryMIME       = smtp.BodyBinaryMIME
	DSNReturnFull        = smtp.DSNReturnFull
	DSNReturnHeaders     = smtp.DSNReturnHeaders
	DSNNotifyNever       = smtp.DSNNotifyNever
	DSNNotifyDelayed     = smtp.DSNNotifyDelayed
	DSNNotifyFailure     = smtp.DSNNotifyFailure
	DSNNotifySuccess     = smtp.DSNNotifySuccess
	DSNAddressTypeRFC822 = smtp.DSNAddressTypeRFC822
	DSNAddressTypeUTF8   = smtp.DSNAddressTypeUTF8
	DeliverByNotify      = smtp.DeliverByNotify
	DeliverByReturn      = smtp.DeliverByReturn
	PriorityUnspecified  = smtp.PriorityUnspecified
	PriorityMIXER        = smtp.PriorityMIXER
	PrioritySTANAG4406   = smtp.PrioritySTANAG4406
	PriorityNSEP         = smtp.PriorityNSEP
)

// Backend makes a session for each connection.
type Backend interface {
	NewSession(c *Conn) (Session, error)
}

// BackendFunc adapts a function to Backend.
type BackendFunc func(c *Conn) (Session, error)

// NewSession calls f(c).
func (f BackendFunc) NewSession(c *Conn) (Session, error) { return f(c) }
