// Errors and limits for parsing untrusted presence documents. Errors are
// values; `message` becomes a SIP 400 reason phrase, so it is short,
// printable ASCII, without CR/LF.
#pragma once

#include <cstddef>
#include <string>

namespace parley::pidf {

// Caps applied to every document before and while it is parsed.
struct Limits {
  std::size_t maxBytes = 65536;   // checked before Xerces sees a byte
  std::size_t maxDepth = 32;      // element nesting
  std::size_t maxElements = 2000; // elements in the whole document
  std::size_t maxTuples = 64;     // <tuple> (PIDF) or <dialog> (dialog-info)
};

struct DocumentError {
  enum class Code {
    TooLarge,          // more than Limits::maxBytes
    NotWellFormed,     // Xerces fatal error: syntax, bad UTF-8, truncation, undeclared entity
    DoctypeForbidden,  // any <!DOCTYPE>: entities and DTDs are never processed
    EntityForbidden,   // an external entity was requested (needs a DOCTYPE; belt and braces)
    WrongRoot,         // not <presence> / <dialog-info> in the right namespace
    MissingEntity,     // root without entity attribute
    TupleWithoutId,
    TupleWithoutStatus,
    BadBasic,          // <basic> not open/closed
    BadPriority,       // <contact priority> not a decimal in 0..1
    DuplicateTupleId,
    TooDeep,
    TooManyElements,
    TooManyTuples,     // also too many dialogs
    BadDialogState,    // <state> missing or not trying/proceeding/early/confirmed/terminated
    BadVersion,        // dialog-info version missing or not a 32-bit unsigned number
    BadDocumentState,  // dialog-info state not full/partial
    DialogWithoutId,
    BadDirection,
    BadDuration,
    Internal,          // Xerces could not be initialised or failed unexpectedly
  };

  Code code;
  std::string message;  // e.g. "tuple without id at 3:5"
};

[[nodiscard]] const char* codeName(DocumentError::Code code);

}  // namespace parley::pidf
