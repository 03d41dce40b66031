// Hostile and malformed input: every case is a specific DocumentError,
// never a crash, a hang, an entity expansion or a fetch.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "parley/pidf/parse.hpp"

namespace parley::pidf {
namespace {

using Code = DocumentError::Code;

constexpr const char* kOpen =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@example.com\">\n";
constexpr const char* kGoodTuple =
    "<tuple id=\"t1\"><status><basic>open</basic></status></tuple>\n";

std::string doc(const std::string& body) { return kOpen + body + "</presence>\n"; }

Code pidfError(std::string_view xml, const Limits& limits = {}) {
  const auto r = parsePidf(xml, limits);
  EXPECT_FALSE(r) << "unexpectedly parsed";
  return r ? Code::Internal : r.error().code;
}

Code dialogError(std::string_view xml) {
  const auto r = parseDialogInfo(xml);
  EXPECT_FALSE(r) << "unexpectedly parsed";
  return r ? Code::Internal : r.error().code;
}

// A loopback listener: if the parser tried to fetch a URL pointing here,
// the connection would sit in the backlog when parse returns.
class Canary {
 public:
  Canary() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::fcntl(fd_, F_SETFL, O_NONBLOCK);
  }
  ~Canary() { ::close(fd_); }
  Canary(const Canary&) = delete;
  Canary& operator=(const Canary&) = delete;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/x"; }
  bool connected() {
    const int c = ::accept(fd_, nullptr, nullptr);
    if (c >= 0) ::close(c);
    return c >= 0;
  }

 private:
  int fd_ = -1;
  unsigned short port_ = 0;
};

TEST(HostilePidf, BillionLaughsIsRefusedAtTheDoctype) {
  std::string dtd = "<!DOCTYPE presence [<!ENTITY l0 \"lol\">";
  for (int i = 1; i <= 9; ++i) {
    dtd += "<!ENTITY l" + std::to_string(i) + " \"";
    for (int k = 0; k < 10; ++k) dtd += "&l" + std::to_string(i - 1) + ";";
    dtd += "\">";
  }
  dtd += "]>\n";
  const std::string xml = "<?xml version=\"1.0\"?>\n" + dtd +
                          "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"x\">"
                          "<note>&l9;</note></presence>";
  EXPECT_EQ(pidfError(xml), Code::DoctypeForbidden);
}

TEST(HostilePidf, ExternalFileEntityIsRefusedAndNotRead) {
  const std::string xml =
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE presence [<!ENTITY xxe SYSTEM \"file:///etc/hostname\">]>\n"
      "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"x\"><note>&xxe;</note>"
      "</presence>";
  const auto r = parsePidf(xml);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::DoctypeForbidden);
  EXPECT_EQ(r.error().message, "DOCTYPE forbidden at 2:1");
}

TEST(HostilePidf, DoctypeAfterBomCommentsAndInstructionsIsRefused) {
  const std::string xml =
      "\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<!-- <presence/> -->\n<?pi x?>  "
      "<!DOCTYPE presence SYSTEM \"file:///etc/hostname\">\n"
      "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"x\"/>";
  const auto r = parsePidf(xml);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::DoctypeForbidden);
  EXPECT_EQ(r.error().message, "DOCTYPE forbidden at 3:11");
}

TEST(HostilePidf, DoctypeTextInsideTheDocumentIsOnlyText) {
  const auto r = parsePidf(doc("<!-- <!DOCTYPE x> --><note><![CDATA[<!DOCTYPE x>]]> &lt;!DOCTYPE</note>"));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->notes.size(), 1u);
  EXPECT_EQ(r->notes[0].text, "<!DOCTYPE x> <!DOCTYPE");
}

TEST(HostilePidf, DoctypeAfterTheRootIsNotWellFormed) {
  EXPECT_EQ(pidfError(doc(kGoodTuple) + "<!DOCTYPE presence>"), Code::NotWellFormed);
}

TEST(HostilePidf, UndeclaredPrefixIsNotWellFormed) {
  EXPECT_EQ(pidfError(doc("<x:note>hi</x:note>")), Code::NotWellFormed);
}

TEST(HostilePidf, UnterminatedCommentInTheProlog) {
  EXPECT_EQ(pidfError("<?xml version=\"1.0\"?><!-- <!DOCTYPE p>"), Code::NotWellFormed);
}

TEST(HostilePidf, ExternalHttpEntityIsRefusedWithoutConnecting) {
  Canary canary;
  const std::string xml = "<?xml version=\"1.0\"?>\n<!DOCTYPE presence [<!ENTITY e SYSTEM \"" +
                          canary.url() +
                          "\">]>\n<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" "
                          "entity=\"x\"><note>&e;</note></presence>";
  EXPECT_EQ(pidfError(xml), Code::DoctypeForbidden);
  EXPECT_FALSE(canary.connected());
}

TEST(HostilePidf, ExternalDtdIsRefusedWithoutConnecting) {
  Canary canary;
  const std::string xml = "<?xml version=\"1.0\"?>\n<!DOCTYPE presence SYSTEM \"" + canary.url() +
                          "\">\n<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"x\"/>";
  EXPECT_EQ(pidfError(xml), Code::DoctypeForbidden);
  EXPECT_FALSE(canary.connected());
}

TEST(HostilePidf, ParameterEntityIsRefusedWithoutConnecting) {
  Canary canary;
  const std::string xml = "<?xml version=\"1.0\"?>\n<!DOCTYPE presence [<!ENTITY % pe SYSTEM \"" +
                          canary.url() +
                          "\"> %pe;]>\n<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" "
                          "entity=\"x\"/>";
  EXPECT_EQ(pidfError(xml), Code::DoctypeForbidden);
  EXPECT_FALSE(canary.connected());
}

TEST(HostilePidf, EntityReferenceWithoutDoctypeIsNotWellFormed) {
  EXPECT_EQ(pidfError(doc("<note>&undeclared;</note>")), Code::NotWellFormed);
}

TEST(HostilePidf, OversizedDocumentIsRefusedBeforeParsing) {
  Limits limits;
  limits.maxBytes = 100;
  const std::string xml = doc(kGoodTuple);
  ASSERT_GT(xml.size(), 100u);
  EXPECT_EQ(pidfError(xml, limits), Code::TooLarge);
  // Even garbage is "too large" first: Xerces never saw it.
  EXPECT_EQ(pidfError(std::string(70000, '<')), Code::TooLarge);
}

TEST(HostilePidf, TenThousandDeepNestingIsTooDeep) {
  std::string body;
  for (int i = 0; i < 10000; ++i) body += "<a>";
  for (int i = 0; i < 10000; ++i) body += "</a>";
  Limits limits;
  limits.maxBytes = 1 << 20;
  EXPECT_EQ(pidfError(doc(body), limits), Code::TooDeep);
}

TEST(HostilePidf, HundredThousandElementsAreTooMany) {
  std::string body;
  for (int i = 0; i < 100000; ++i) body += "<x/>";
  Limits limits;
  limits.maxBytes = 1 << 20;
  EXPECT_EQ(pidfError(doc(body), limits), Code::TooManyElements);
  EXPECT_EQ(pidfError(doc(body)), Code::TooLarge);  // default limits stop it earlier
}

TEST(HostilePidf, TooManyTuplesAreRefused) {
  std::string body;
  for (int i = 0; i < 65; ++i) {
    body += "<tuple id=\"t" + std::to_string(i) + "\"><status/></tuple>";
  }
  EXPECT_EQ(pidfError(doc(body)), Code::TooManyTuples);
}

TEST(HostilePidf, NonUtf8BytesAreNotWellFormed) {
  EXPECT_EQ(pidfError(doc("<note>\xff\xfe caf\xe9</note>")), Code::NotWellFormed);
}

TEST(HostilePidf, Latin1DeclarationIsStillReadAsUtf8) {
  const std::string xml =
      "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
      "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"x\"><note>caf\xe9</note>"
      "</presence>";
  EXPECT_EQ(pidfError(xml), Code::NotWellFormed);
}

TEST(HostilePidf, TruncatedDocumentIsNotWellFormed) {
  const std::string xml = doc(kGoodTuple);
  EXPECT_EQ(pidfError(xml.substr(0, xml.size() / 2)), Code::NotWellFormed);
  EXPECT_EQ(pidfError(""), Code::NotWellFormed);
}

TEST(HostilePidf, WrongRootOrNamespaceIsRefused) {
  EXPECT_EQ(pidfError("<presence entity=\"x\"/>"), Code::WrongRoot);  // no namespace
  EXPECT_EQ(pidfError("<presence xmlns=\"urn:example\" entity=\"x\"/>"), Code::WrongRoot);
  EXPECT_EQ(pidfError("<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"1\" "
                      "state=\"full\" entity=\"x\"/>"),
            Code::WrongRoot);
}

TEST(HostilePidf, MissingOrEmptyEntityIsRefused) {
  EXPECT_EQ(pidfError("<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"/>"), Code::MissingEntity);
  EXPECT_EQ(pidfError("<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\" \"/>"),
            Code::MissingEntity);
}

TEST(HostilePidf, TupleWithoutIdNamesItsPosition) {
  const auto r = parsePidf(doc("<tuple><status/></tuple>"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::TupleWithoutId);
  EXPECT_EQ(r.error().message, "tuple without id at 3:8");
}

TEST(HostilePidf, TupleWithoutStatusIsRefused) {
  EXPECT_EQ(pidfError(doc("<tuple id=\"t1\"><contact>sip:a@b</contact></tuple>")),
            Code::TupleWithoutStatus);
}

TEST(HostilePidf, BasicMaybeIsRefused) {
  EXPECT_EQ(pidfError(doc("<tuple id=\"t1\"><status><basic>maybe</basic></status></tuple>")),
            Code::BadBasic);
}

TEST(HostilePidf, PriorityOutsideZeroToOneIsRefused) {
  for (const char* p : {"2", "-0.5", "abc", "", "1.0001", "0.5e0", "1,5"}) {
    const std::string body = std::string("<tuple id=\"t1\"><status/><contact priority=\"") + p +
                             "\">sip:a@b</contact></tuple>";
    EXPECT_EQ(pidfError(doc(body)), Code::BadPriority) << p;
  }
}

TEST(HostilePidf, DuplicateTupleIdsAreRefused) {
  EXPECT_EQ(pidfError(doc(std::string(kGoodTuple) + kGoodTuple)), Code::DuplicateTupleId);
}

TEST(HostilePidf, ErrorMessagesArePrintableAsciiWithoutLineBreaks) {
  const std::string bad[] = {doc("<t\xc3\xa9st></other>"), "\n\n<x", doc("<a b='1' b='2'/>"),
                             std::string("<?xml version=\"1.0\"?>\r\n<p\xe2\x98\x95")};
  for (const auto& xml : bad) {
    const auto r = parsePidf(xml);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Code::NotWellFormed);
    EXPECT_FALSE(r.error().message.empty());
    EXPECT_LE(r.error().message.size(), 120u);
    for (char c : r.error().message) {
      EXPECT_TRUE(c >= 0x20 && c < 0x7F) << r.error().message;
    }
  }
}

TEST(HostilePidf, ParserIsReusableAfterEveryKindOfError) {
  EXPECT_FALSE(parsePidf(doc("<tuple><status/></tuple>")));
  EXPECT_FALSE(parsePidf("<?xml version=\"1.0\"?><!DOCTYPE p []><p/>"));
  EXPECT_FALSE(parsePidf(doc("<note>&x;</note>")));
  const auto ok = parsePidf(doc(kGoodTuple));
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->tuples.size(), 1u);
}

TEST(HostilePidf, ThreadsEachUseTheirOwnParser) {
  bool results[2] = {false, false};
  std::thread a([&] {
    for (int i = 0; i < 200; ++i) results[0] = parsePidf(doc(kGoodTuple)).has_value();
  });
  std::thread b([&] {
    for (int i = 0; i < 200; ++i) results[1] = !parsePidf(doc("<tuple/>")).has_value();
  });
  a.join();
  b.join();
  EXPECT_TRUE(results[0]);
  EXPECT_TRUE(results[1]);
}

const std::string kDialogOpen =
    "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"1\" state=\"full\" "
    "entity=\"sip:a@b\">";

TEST(HostileDialogInfo, UnknownDialogStateIsRefused) {
  EXPECT_EQ(dialogError(kDialogOpen + "<dialog id=\"d\"><state>ringing</state></dialog>" +
                        "</dialog-info>"),
            Code::BadDialogState);
  EXPECT_EQ(dialogError(kDialogOpen + "<dialog id=\"d\"/></dialog-info>"), Code::BadDialogState);
}

TEST(HostileDialogInfo, RootAttributesAreChecked) {
  const std::string ns = "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" ";
  EXPECT_EQ(dialogError(ns + "state=\"full\" entity=\"x\"/>"), Code::BadVersion);
  EXPECT_EQ(dialogError(ns + "version=\"-1\" state=\"full\" entity=\"x\"/>"), Code::BadVersion);
  EXPECT_EQ(dialogError(ns + "version=\"4294967296\" state=\"full\" entity=\"x\"/>"),
            Code::BadVersion);
  EXPECT_EQ(dialogError(ns + "version=\"1\" state=\"half\" entity=\"x\"/>"),
            Code::BadDocumentState);
  EXPECT_EQ(dialogError(ns + "version=\"1\" state=\"full\"/>"), Code::MissingEntity);
  EXPECT_EQ(dialogError("<dialog-info version=\"1\" state=\"full\" entity=\"x\"/>"),
            Code::WrongRoot);
}

TEST(HostileDialogInfo, DialogAttributesAndDurationAreChecked) {
  EXPECT_EQ(dialogError(kDialogOpen + "<dialog><state>early</state></dialog></dialog-info>"),
            Code::DialogWithoutId);
  EXPECT_EQ(dialogError(kDialogOpen +
                        "<dialog id=\"d\" direction=\"sideways\"><state>early</state></dialog>"
                        "</dialog-info>"),
            Code::BadDirection);
  EXPECT_EQ(dialogError(kDialogOpen +
                        "<dialog id=\"d\"><state>confirmed</state><duration>1h</duration>"
                        "</dialog></dialog-info>"),
            Code::BadDuration);
}

TEST(HostileDialogInfo, TooManyDialogsAreRefused) {
  std::string body = kDialogOpen;
  for (int i = 0; i < 65; ++i) {
    body += "<dialog id=\"d" + std::to_string(i) + "\"><state>early</state></dialog>";
  }
  EXPECT_EQ(dialogError(body + "</dialog-info>"), Code::TooManyTuples);
}

TEST(HostileDialogInfo, DoctypeIsRefused) {
  EXPECT_EQ(dialogError("<?xml version=\"1.0\"?><!DOCTYPE dialog-info [<!ENTITY a \"b\">]>" +
                        kDialogOpen + "</dialog-info>"),
            Code::DoctypeForbidden);
}

}  // namespace
}  // namespace parley::pidf
