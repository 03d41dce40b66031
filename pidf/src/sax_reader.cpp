// Hardened Xerces-C 3.2.4 SAX2 reader. Settings follow libraries.md §2: the
// defaults read local files, fetch URLs (SSRF) and expand entity bombs.
#include "sax_reader.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>
#include <new>
#include <utility>

#include <xercesc/framework/MemBufInputSource.hpp>
#include <xercesc/sax2/Attributes.hpp>
#include <xercesc/sax2/DefaultHandler.hpp>
#include <xercesc/sax2/SAX2XMLReader.hpp>
#include <xercesc/sax2/XMLReaderFactory.hpp>
#include <xercesc/sax/Locator.hpp>
#include <xercesc/sax/SAXParseException.hpp>
#include <xercesc/framework/MemoryManager.hpp>
#include <xercesc/util/OutOfMemoryException.hpp>
#include <xercesc/util/PlatformUtils.hpp>
#include <xercesc/util/SecurityManager.hpp>
#include <xercesc/util/XMLException.hpp>
#include <xercesc/util/XMLUni.hpp>

namespace parley::pidf::detail {
namespace {

namespace xc = xercesc;

// Hand-written UTF-16 -> UTF-8: XMLString::transcode uses the local code page
// and TranscodeToStr goes through ICU (20 % slower, libraries.md §2).
void appendUtf8(std::string& out, const XMLCh* s, std::size_t n) {
  std::size_t i = 0;
  while (i < n) {
    // Markup and most presence text are ASCII: copy a run of it in one step.
    std::size_t run = i;
    while (run < n && static_cast<std::uint16_t>(s[run]) < 0x80) ++run;
    if (run > i) {
      const std::size_t at = out.size();
      out.resize(at + (run - i));
      char* dst = out.data() + at;
      for (std::size_t k = i; k < run; ++k) *dst++ = static_cast<char>(s[k]);
      i = run;
      if (i == n) break;
    }
    std::uint32_t c = static_cast<std::uint16_t>(s[i]);
    if (c >= 0xD800 && c <= 0xDBFF && i + 1 < n) {
      const std::uint32_t lo = static_cast<std::uint16_t>(s[i + 1]);
      if (lo >= 0xDC00 && lo <= 0xDFFF) {
        c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
        ++i;
      }
    }
    ++i;
    if (c >= 0xD800 && c <= 0xDFFF) c = 0xFFFD;  // lone surrogate
    if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
}

// Replaces `out` with `s` (NUL-terminated) in UTF-8, reusing its buffer: the
// handler's name and attribute strings are kept across elements and parses.
void assignUtf8(std::string& out, const XMLCh* s) {
  out.clear();
  if (s == nullptr) return;
  std::size_t n = 0;
  while (s[n] != 0) ++n;
  appendUtf8(out, s, n);
}

std::string toUtf8(const XMLCh* s) {
  std::string out;
  assignUtf8(out, s);
  return out;
}

// Reason phrases must be printable ASCII without CR/LF and short.
std::string sanitize(std::string_view s, std::size_t max = 96) {
  std::string out;
  for (char ch : s) {
    if (out.size() >= max) break;
    const auto u = static_cast<unsigned char>(ch);
    out.push_back(u >= 0x20 && u < 0x7F ? ch : '?');
  }
  return out;
}

// Thrown only inside this file to unwind Xerces; never escapes runSax.
struct Abort {
  DocumentError error;
};

class Handler final : public xc::DefaultHandler {
 public:
  void begin(SaxSink& sink, const Limits& limits) {
    sink_ = &sink;
    limits_ = &limits;
    depth_ = 0;
    elements_ = 0;
    locator_ = nullptr;
  }

  void setDocumentLocator(const xc::Locator* const locator) override { locator_ = locator; }

  void startElement(const XMLCh* const uri, const XMLCh* const localname, const XMLCh* const,
                    const xc::Attributes& attrs) override {
    const Position at = here();
    if (++depth_ > limits_->maxDepth) {
      throw Abort{makeError(DocumentError::Code::TooDeep, "nesting too deep", at)};
    }
    if (++elements_ > limits_->maxElements) {
      throw Abort{makeError(DocumentError::Code::TooManyElements, "too many elements", at)};
    }
    assignUtf8(name_.uri, uri);
    assignUtf8(name_.local, localname);
    attrs_.resize(attrs.getLength());
    for (XMLSize_t i = 0; i < attrs.getLength(); ++i) {
      assignUtf8(attrs_[i].uri, attrs.getURI(i));
      assignUtf8(attrs_[i].local, attrs.getLocalName(i));
      assignUtf8(attrs_[i].value, attrs.getValue(i));
    }
    if (auto err = sink_->start(name_, attrs_, at)) throw Abort{std::move(*err)};
  }

  void endElement(const XMLCh* const uri, const XMLCh* const localname,
                  const XMLCh* const) override {
    --depth_;
    assignUtf8(name_.uri, uri);
    assignUtf8(name_.local, localname);
    if (auto err = sink_->end(name_, here())) throw Abort{std::move(*err)};
  }

  void characters(const XMLCh* const chars, const XMLSize_t length) override {
    text_.clear();
    appendUtf8(text_, chars, length);
    sink_->text(text_);
  }

  // Not called by the well-formedness scanner, which skips a DOCTYPE; kept so
  // that any other scanner refuses one too.
  void startDTD(const XMLCh* const, const XMLCh* const, const XMLCh* const) override {
    throw Abort{makeError(DocumentError::Code::DoctypeForbidden, "DOCTYPE forbidden", here())};
  }

  xc::InputSource* resolveEntity(const XMLCh* const, const XMLCh* const) override {
    throw Abort{makeError(DocumentError::Code::EntityForbidden, "external entity forbidden",
                          here())};
  }

  void fatalError(const xc::SAXParseException& e) override {
    const Position at{static_cast<std::size_t>(e.getLineNumber()),
                      static_cast<std::size_t>(e.getColumnNumber())};
    throw Abort{makeError(DocumentError::Code::NotWellFormed,
                          "not well-formed (" + sanitize(toUtf8(e.getMessage()), 64) + ")",
                          at)};
  }
  void error(const xc::SAXParseException&) override {}    // validity only; validation is off
  void warning(const xc::SAXParseException&) override {}

 private:
  Position here() const {
    if (locator_ == nullptr) return {};
    return {static_cast<std::size_t>(locator_->getLineNumber()),
            static_cast<std::size_t>(locator_->getColumnNumber())};
  }

  SaxSink* sink_ = nullptr;
  const Limits* limits_ = nullptr;
  const xc::Locator* locator_ = nullptr;
  std::size_t depth_ = 0;
  std::size_t elements_ = 0;
  XmlName name_;                // reused buffers: one reader per thread
  std::vector<XmlAttr> attrs_;
  std::string text_;
};

// Xerces allocates one XMLReader per parse, about 160 KB of buffers of which a
// small document touches a few pages. From the general heap each parse got
// fresh pages (page faults, cold cache lines) once other allocations had taken
// the freed ones; this keeps the few large blocks of one thread's parser for
// its next parse. Small blocks go straight to the heap.
class ParserMemory final : public xc::MemoryManager {
 public:
  ParserMemory() = default;
  ParserMemory(const ParserMemory&) = delete;
  ParserMemory& operator=(const ParserMemory&) = delete;
  ~ParserMemory() override {
    for (auto& b : kept_) ::operator delete(b.block);
  }

  xc::MemoryManager* getExceptionMemoryManager() override {
    return xc::XMLPlatformUtils::fgMemoryManager;
  }

  void* allocate(XMLSize_t size) override {
    const std::size_t total = size + kHeader;
    void* block = nullptr;
    if (total >= kLarge) {
      for (auto& b : kept_) {
        if (b.block != nullptr && b.size == total) {
          block = std::exchange(b.block, nullptr);
          break;
        }
      }
    }
    if (block == nullptr) {
      try {
        block = ::operator new(total);
      } catch (const std::bad_alloc&) {
        throw xc::OutOfMemoryException();
      }
    }
    *static_cast<std::size_t*>(block) = total;
    return static_cast<char*>(block) + kHeader;
  }

  void deallocate(void* p) override {
    if (p == nullptr) return;
    void* block = static_cast<char*>(p) - kHeader;
    const std::size_t total = *static_cast<std::size_t*>(block);
    if (total >= kLarge) {
      for (auto& b : kept_) {
        if (b.block == nullptr) {
          b = {block, total};
          return;
        }
      }
    }
    ::operator delete(block);
  }

 private:
  static constexpr std::size_t kHeader = alignof(std::max_align_t);
  static constexpr std::size_t kLarge = 8192;
  struct Kept {
    void* block = nullptr;
    std::size_t size = 0;
  };
  std::array<Kept, 8> kept_{};
};

// Initialize once per process; never Terminate while a thread may still own
// a reader (libraries.md §2, Xerces FAQ).
bool initXerces() {
  static const bool ok = [] {
    try {
      xc::XMLPlatformUtils::Initialize();
      return true;
    } catch (...) {
      return false;
    }
  }();
  return ok;
}

struct Reader {
  Reader() : reader(xc::XMLReaderFactory::createXMLReader(&memory)) {
    // The well-formedness scanner: no validators, grammars or DTD entities to
    // set up and reset on every parse. It skips a DOCTYPE without reporting
    // it, so prologDoctype() refuses one before Xerces runs.
    reader->setProperty(xc::XMLUni::fgXercesScannerName,
                        const_cast<XMLCh*>(xc::XMLUni::fgWFXMLScanner));
    security.setEntityExpansionLimit(100);
    reader->setFeature(xc::XMLUni::fgSAX2CoreNameSpaces, true);
    reader->setFeature(xc::XMLUni::fgSAX2CoreNameSpacePrefixes, false);
    reader->setFeature(xc::XMLUni::fgSAX2CoreValidation, false);
    reader->setFeature(xc::XMLUni::fgXercesSchema, false);
    reader->setFeature(xc::XMLUni::fgXercesLoadSchema, false);
    reader->setFeature(xc::XMLUni::fgXercesLoadExternalDTD, false);
    reader->setFeature(xc::XMLUni::fgXercesSkipDTDValidation, true);
    reader->setFeature(xc::XMLUni::fgXercesDisableDefaultEntityResolution, true);
    reader->setProperty(xc::XMLUni::fgXercesSecurityManager, &security);
    reader->setContentHandler(&handler);
    reader->setErrorHandler(&handler);
    reader->setLexicalHandler(&handler);
    reader->setEntityResolver(&handler);
    reader->setDTDHandler(&handler);
  }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  ParserMemory memory;  // outlives the reader, which allocates from it
  xc::SecurityManager security;
  Handler handler;
  std::unique_ptr<xc::SAX2XMLReader> reader;
};

}  // namespace

DocumentError makeError(DocumentError::Code code, std::string_view what, Position at) {
  std::string msg = sanitize(what, 80);
  if (at.line != 0) {
    msg += " at " + std::to_string(at.line) + ":" + std::to_string(at.column);
  }
  return DocumentError{code, std::move(msg)};
}

const std::string* findAttr(const std::vector<XmlAttr>& attrs, std::string_view local) {
  for (const auto& a : attrs) {
    if (a.uri.empty() && a.local == local) return &a.value;
  }
  return nullptr;
}

std::string_view trimXml(std::string_view s) {
  constexpr std::string_view kWs = " \t\r\n";
  const auto b = s.find_first_not_of(kWs);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kWs) - b + 1);
}

std::optional<Position> prologDoctype(std::string_view xml) {
  // prolog ::= XMLDecl? Misc* (doctypedecl Misc*)?, Misc ::= Comment | PI | S
  // [XML 1.0 §2.8]; the XML declaration is a PI in form.
  std::size_t i = xml.starts_with("\xEF\xBB\xBF") ? 3 : 0;
  for (;;) {
    i = xml.find_first_not_of(" \t\r\n", i);
    if (i == std::string_view::npos) return std::nullopt;
    const std::string_view rest = xml.substr(i);
    std::size_t close = std::string_view::npos;
    if (rest.starts_with("<!--")) {
      close = xml.find("-->", i + 4);
      if (close != std::string_view::npos) close += 3;
    } else if (rest.starts_with("<?")) {
      close = xml.find("?>", i + 2);
      if (close != std::string_view::npos) close += 2;
    } else if (rest.starts_with("<!DOCTYPE")) {
      const std::string_view before = xml.substr(0, i);
      const std::size_t nl = before.rfind('\n');
      const std::size_t line = static_cast<std::size_t>(
          std::count(before.begin(), before.end(), '\n'));
      return Position{line + 1, nl == std::string_view::npos ? i + 1 : i - nl};
    }
    // The root element, or something Xerces will call not well-formed.
    if (close == std::string_view::npos) return std::nullopt;
    i = close;
  }
}

std::optional<DocumentError> runSax(std::string_view xml, const Limits& limits, SaxSink& sink) {
  // The size cap comes before Xerces sees a byte.
  if (xml.size() > limits.maxBytes) {
    return DocumentError{DocumentError::Code::TooLarge, "document too large"};
  }
  // No DOCTYPE: this rules out entity bombs, XXE and external DTDs before any
  // of it is read (Xerces 3.2.4's SAX parser has no switch to refuse one).
  if (const auto at = prologDoctype(xml)) {
    return makeError(DocumentError::Code::DoctypeForbidden, "DOCTYPE forbidden", *at);
  }
  if (!initXerces()) {
    return DocumentError{DocumentError::Code::Internal, "XML parser unavailable"};
  }
  thread_local Reader r;
  r.handler.begin(sink, limits);
  // No copy: Xerces reads the caller's bytes. Encoding is forced to UTF-8,
  // the only one RFC 3863 §4.1 requires; other encodings are not decoded.
  // The system id is given as XMLCh: the char* form transcodes it through the
  // local code page (ICU) on every parse.
  xc::MemBufInputSource src(reinterpret_cast<const XMLByte*>(xml.data()), xml.size(),
                            u"pidf", false);
  src.setEncoding(u"UTF-8");
  try {
    r.reader->parse(src);
  } catch (Abort& a) {
    return std::move(a.error);
  } catch (const xc::SAXParseException& e) {
    return makeError(DocumentError::Code::NotWellFormed, "not well-formed",
                     {static_cast<std::size_t>(e.getLineNumber()),
                      static_cast<std::size_t>(e.getColumnNumber())});
  } catch (const xc::XMLException&) {
    return DocumentError{DocumentError::Code::NotWellFormed, "not well-formed"};
  } catch (...) {
    return DocumentError{DocumentError::Code::Internal, "XML parser failure"};
  }
  return std::nullopt;
}

}  // namespace parley::pidf::detail
