#include "proxy/smtp/reply_table.h"

#include <array>
#include <string>

namespace mxguard::smtp {

namespace {
struct Row {
  ReplyId id;
  ReplySpec spec;
};

// X.3.2 for an unreachable backend: "system not accepting network messages" says the mail system (the
// legacy server behind us) is not taking mail now and the sender should retry, which is the truth; X.3.0
// is kept for a backend that answered but could not be trusted (fail closed).
constexpr Row kRows[] = {
    {ReplyId::TooManyConnections, {421, "4.7.0", "Error: too many connections, try again later", true}},
    {ReplyId::AbusePenalty, {421, "4.7.0", "Error: too many errors from your address or network, try again later", true}},
    {ReplyId::ServiceUnavailable, {421, "4.3.2", "Service not available, try again later", true}},
    {ReplyId::ShuttingDown, {421, "4.3.2", "Service shutting down, closing transmission channel", true}},
    {ReplyId::TooManyErrors, {421, "4.7.0", "Error: too many errors", true}},
    {ReplyId::TooManyJunkCommands, {421, "4.7.0", "Error: too many junk commands", true}},
    {ReplyId::ClientTimeout, {421, "4.4.2", "Error: timeout exceeded", true}},
    {ReplyId::DataRateTooLow, {421, "4.4.2", "Error: data rate too low, closing", true}},
    {ReplyId::FarSideTimeout, {421, "4.4.2", "Mail server timed out, closing transmission channel", true}},
    {ReplyId::FarSideLost, {421, "4.4.2", "Connection to the mail server lost, closing", true}},
    {ReplyId::FarSideError, {421, "4.3.0", "Mail server error, try again later", true}},
    {ReplyId::ClosingAfterRefusedMessage, {421, "4.3.0", "Closing transmission channel after the refused message", true}},
    {ReplyId::TlsUnavailableFatal, {421, "4.7.0", "TLS not available", true}},
    {ReplyId::EarlyTalker, {554, "5.5.1", "Protocol error: client spoke before the greeting", false}},
    {ReplyId::LineTooLong, {500, "5.5.2", "Error: line too long", false}},
    {ReplyId::BareLfInCommand, {500, "5.5.2", "Error: bare LF in command line", false}},
    {ReplyId::InvalidCharacter, {500, "5.5.2", "Error: invalid character in command", false}},
    {ReplyId::CommandNotRecognized, {500, "5.5.2", "Error: command not recognized", false}},
    {ReplyId::CommandNotImplemented, {502, "5.5.1", "Error: command not implemented", false}},
    {ReplyId::SyntaxHelo, {501, "5.5.4", "Syntax: HELO hostname", false}},
    {ReplyId::SyntaxEhlo, {501, "5.5.4", "Syntax: EHLO hostname", false}},
    {ReplyId::SyntaxStarttls, {501, "5.5.4", "Syntax: STARTTLS", false}},
    {ReplyId::TlsAlreadyActive, {554, "5.5.1", "Error: TLS already active", false}},
    {ReplyId::TlsNotAvailable, {454, "4.7.0", "TLS not available due to temporary reason", false}},
    {ReplyId::ReadyToStartTls, {220, "2.0.0", "Ready to start TLS", false}},
    {ReplyId::HeloFirst, {503, "5.5.1", "Error: send HELO/EHLO first", false}},
    {ReplyId::StarttlsFirst, {530, "5.7.0", "Must issue a STARTTLS command first", false}},
    {ReplyId::StarttlsFirstForSender, {530, "5.7.0", "Must issue a STARTTLS command first: TLS is required for mail from", false}},
    {ReplyId::BadSenderSyntax, {501, "5.1.7", "Bad sender address syntax", false}},
    {ReplyId::TooManyRecipients, {452, "4.5.3", "Error: too many recipients", false}},
    {ReplyId::BdatNotSupported, {502, "5.5.1", "Error: BDAT not supported", false}},
    {ReplyId::BdatUnparsable, {554, "5.5.1", "Error: BDAT not supported", false}},
    {ReplyId::AccessDenied, {554, "5.7.1", "Access denied: this address may not send mail through mxguard", true}},
    {ReplyId::SenderOk, {250, "2.1.0", "Ok", false}},
    {ReplyId::RecipientOk, {250, "2.1.5", "Ok", false}},
    {ReplyId::Ok, {250, "2.0.0", "Ok", false}},
    {ReplyId::Bye, {221, "2.0.0", "Bye", false}},
    {ReplyId::CannotVrfy, {252, "2.0.0", "Cannot VRFY user, but will accept message and attempt delivery", false}},
    {ReplyId::HelpText, {214, "2.0.0", "mxguard: see RFC 5321", false}},
    {ReplyId::NestedMail, {503, "5.5.1", "Error: nested MAIL command", false}},
    {ReplyId::MailFirst, {503, "5.5.1", "Error: need MAIL command", false}},
    {ReplyId::RcptFirst, {503, "5.5.1", "Error: need RCPT command", false}},
    {ReplyId::BadRecipientSyntax, {501, "5.1.3", "Bad recipient address syntax", false}},
    // RFC 5321 §4.5.3.1.10: a server may limit recipients; the client sends the rest in a new transaction.
    {ReplyId::OneDomainPerTransaction,
     {452, "4.5.3", "Error: one recipient domain per transaction, send the others in a new one", false}},
    {ReplyId::NoValidRecipients, {554, "5.5.1", "Error: no valid recipients", false}},
    {ReplyId::DnsTemporary, {451, "4.4.3", "Temporary DNS failure:", false}},
    {ReplyId::NullMx, {556, "5.1.10", "Recipient domain accepts no mail (null MX):", false}},
    {ReplyId::NoSuchDomain, {550, "5.1.2", "Recipient domain does not exist:", false}},
    {ReplyId::NoMxReachable, {451, "4.4.1", "No mail server of the recipient domain could be reached:", false}},
    {ReplyId::PolicyNoStarttls, {451, "4.7.4", "Delivery refused by TLS policy:", false}},
    {ReplyId::PolicyTlsFailure, {451, "4.7.5", "Delivery refused by TLS policy:", false}},
    {ReplyId::UpstreamLost, {451, "4.4.2", "Connection to the remote mail server lost:", false}},
    {ReplyId::MessageNotSent, {451, "4.3.0", "Message not sent, try again later", false}},
    {ReplyId::MessageTooBig, {552, "5.3.4", "Error: message size exceeds fixed maximum message size", false}},
    {ReplyId::MessageLineTooLong, {552, "5.3.4", "Error: message line too long", false}},
    {ReplyId::MessageHasNul, {550, "5.6.0", "Error: message contains NUL characters", false}},
    {ReplyId::MessageHasBareNewline,
     {550, "5.5.2", "Error: message contains bare CR or LF characters (SMTP smuggling protection)", false}},
};

constexpr bool rows_in_enum_order() {
  for (std::size_t i = 0; i < std::size(kRows); ++i) {
    if (static_cast<std::size_t>(kRows[i].id) != i) return false;
  }
  return true;
}
static_assert(rows_in_enum_order(), "kRows must list every ReplyId once, in declaration order");
static_assert(std::size(kRows) == static_cast<std::size_t>(ReplyId::MessageHasBareNewline) + 1);
}  // namespace

const ReplySpec& spec(ReplyId id) { return kRows[static_cast<std::size_t>(id)].spec; }

ReplyId content_refusal(DataError error) {
  switch (error) {
    case DataError::MessageTooBig: return ReplyId::MessageTooBig;
    case DataError::LineTooLong: return ReplyId::MessageLineTooLong;
    case DataError::Nul: return ReplyId::MessageHasNul;
    case DataError::BareLineEnding:
    case DataError::None: break;
  }
  return ReplyId::MessageHasBareNewline;
}

Reply make_reply(ReplyId id, std::string_view hostname, std::string_view detail) {
  const ReplySpec& s = spec(id);
  std::string text(s.enhanced);
  text.push_back(' ');
  if (s.hostname_first && !hostname.empty()) {
    text.append(hostname);
    text.push_back(' ');
  }
  text.append(s.text);
  if (!detail.empty()) {
    text.push_back(' ');
    text.append(detail);
  }
  return Reply{s.code, {std::move(text)}};
}

}  // namespace mxguard::smtp
