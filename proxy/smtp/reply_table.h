#pragma once
// Every reply mxguard makes itself, in one table: code, enhanced status code (RFC 3463) and text, like
// OpenSMTPD's esc.c. Sessions name a reply by its id and never spell codes inline, so the same refusal
// reads the same in both directions and a review of the wording is a review of this one file.
#include <string_view>

#include "proxy/smtp/data_filter.h"
#include "proxy/smtp/reply_parser.h"

namespace mxguard::smtp {

enum class ReplyId {
  // Connection-level: these end the session. Their text starts with our host name (RFC 5321 §4.2: 421).
  TooManyConnections,
  AbusePenalty,            // the client's address is serving a penalty (limits.abuse_penalty)
  ServiceUnavailable,      // the far side (legacy backend) cannot be reached or set up
  ShuttingDown,
  TooManyErrors,
  TooManyJunkCommands,     // past max_junk_commands (NOOP, RSET, VRFY, EXPN, HELP, ETRN)
  ClientTimeout,
  DataRateTooLow,
  FarSideTimeout,          // the far side did not answer, or stopped taking our bytes, in time
  FarSideLost,
  FarSideError,            // the far side sent something we cannot vouch for: fail closed
  ClosingAfterRefusedMessage,
  TlsUnavailableFatal,
  // Command phase.
  EarlyTalker,
  LineTooLong,
  BareLfInCommand,
  InvalidCharacter,
  CommandNotRecognized,
  CommandNotImplemented,
  SyntaxHelo,
  SyntaxEhlo,
  SyntaxStarttls,
  TlsAlreadyActive,
  TlsNotAvailable,
  ReadyToStartTls,
  HeloFirst,
  StarttlsFirst,
  StarttlsFirstForSender,  // detail: the sender domain
  BadSenderSyntax,
  TooManyRecipients,
  BdatNotSupported,
  BdatUnparsable,
  // Outbound (the legacy MTA's view).
  AccessDenied,            // a client not in [outbound] allow
  SenderOk,
  RecipientOk,
  Ok,
  Bye,
  CannotVrfy,
  HelpText,
  NestedMail,
  MailFirst,
  RcptFirst,
  BadRecipientSyntax,
  OneDomainPerTransaction,
  NoValidRecipients,
  DnsTemporary,            // detail: what failed
  NullMx,                  // RFC 7505: the domain accepts no mail
  NoSuchDomain,
  NoMxReachable,           // no MX could be connected to (not a policy refusal)
  PolicyNoStarttls,        // detail: policy::reply_text
  PolicyTlsFailure,        // detail: policy::reply_text
  UpstreamLost,            // detail: the MX
  MessageNotSent,          // the content was refused before it left: nothing was delivered
  // Content.
  MessageTooBig,
  MessageLineTooLong,
  MessageHasNul,
  MessageHasBareNewline,
};

struct ReplySpec {
  int code;
  std::string_view enhanced;
  std::string_view text;
  bool hostname_first;   // "421 4.3.2 mx.example.com Service ..."
};

const ReplySpec& spec(ReplyId id);

// The refusal of a message whose content the smuggling filter (or a limit) refused.
ReplyId content_refusal(DataError error);

// The reply as the client receives it. `detail` is appended to the text (after ": " where the text
// ends with a noun, as for StarttlsFirstForSender), never interpreted.
Reply make_reply(ReplyId id, std::string_view hostname, std::string_view detail = {});

}  // namespace mxguard::smtp
