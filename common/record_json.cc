#include "common/record_json.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <map>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/json.h"
#include "fmt/format.h"
#include "google/protobuf/descriptor.h"

namespace fixmine {
namespace {

using fixmine::v1::Record;

constexpr char kHex[] = "0123456789abcdef";

// For each byte below 0x80: 1 when protobuf escapes it; bytes >= 0x80 start a multi-byte
// sequence that is decoded and checked separately.
constexpr std::array<bool, 256> kNeedsLook = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>';
  }
  return t;
}();

// True for the code points >= 0x80 that protobuf 3.21's JsonEscaping writes as \u escapes.
bool EscapedAbove7f(uint32_t cp) {
  if (cp < 0xa0) return true;  // C1 controls
  switch (cp) {
    case 0xfeff:
    case 0xfff9:
    case 0xfffa:
    case 0xfffb:
    case 0x00ad:
    case 0x06dd:
    case 0x070f:
    case 0x17b4:
    case 0x17b5:
      return true;
    default:
      break;
  }
  return (cp >= 0x0600 && cp <= 0x0603) || (cp >= 0x200b && cp <= 0x200f) ||
         (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2064) ||
         (cp >= 0x206a && cp <= 0x206f) || cp == 0xe0001 || (cp >= 0x1d173 && cp <= 0x1d17a) ||
         (cp >= 0xe0020 && cp <= 0xe007f);
}

// Decodes the well-formed UTF-8 sequence at `p` (strict: no overlongs, surrogates or values past
// U+10FFFF). Returns its length, 0 when malformed.
size_t DecodeUtf8(const unsigned char* p, const unsigned char* end, uint32_t* cp) {
  unsigned char c = p[0];
  size_t n;
  uint32_t v, min;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2, v = c & 0x1f, min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3, v = c & 0x0f, min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4, v = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (static_cast<size_t>(end - p) < n) return 0;
  for (size_t i = 1; i < n; ++i) {
    if ((p[i] & 0xc0) != 0x80) return 0;
    v = (v << 6) | (p[i] & 0x3f);
  }
  if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
  *cp = v;
  return n;
}

// True when every field of `d` (recursively) is of a kind AppendMessage renders exactly
// like protobuf: strings, bools, 32/64-bit integers, enums and messages of such fields, no
// maps, bytes, floating point or well-known types.
bool Supported(const google::protobuf::Descriptor* d, int depth = 0) {
  using FD = google::protobuf::FieldDescriptor;
  if (depth > 8 ||
      d->well_known_type() != google::protobuf::Descriptor::WELLKNOWNTYPE_UNSPECIFIED) {
    return false;
  }
  for (int i = 0; i < d->field_count(); ++i) {
    const FD* f = d->field(i);
    if (f->is_map()) return false;
    switch (f->cpp_type()) {
      case FD::CPPTYPE_STRING:
        if (f->type() == FD::TYPE_BYTES) return false;
        break;
      case FD::CPPTYPE_BOOL:
      case FD::CPPTYPE_INT32:
      case FD::CPPTYPE_INT64:
      case FD::CPPTYPE_UINT32:
      case FD::CPPTYPE_UINT64:
      case FD::CPPTYPE_ENUM:
        break;
      case FD::CPPTYPE_MESSAGE:
        if (f->message_type() != d && !Supported(f->message_type(), depth + 1)) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

// Fields of `d` in field-number order, which is the order protobuf's printer uses.
std::vector<const google::protobuf::FieldDescriptor*> SortedFields(
    const google::protobuf::Descriptor* d) {
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  fields.reserve(d->field_count());
  for (int i = 0; i < d->field_count(); ++i) fields.push_back(d->field(i));
  std::sort(fields.begin(), fields.end(),
            [](auto* a, auto* b) { return a->number() < b->number(); });
  return fields;
}

struct Plan {
  bool supported;
  std::map<const google::protobuf::Descriptor*,
           std::vector<const google::protobuf::FieldDescriptor*>>
      fields;
};

void CollectFields(const google::protobuf::Descriptor* d, Plan* plan) {
  if (plan->fields.count(d)) return;
  plan->fields[d] = SortedFields(d);
  for (auto* f : plan->fields[d]) {
    if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
      CollectFields(f->message_type(), plan);
    }
  }
}

const Plan& RecordPlan() {
  static const Plan* plan = [] {
    auto* p = new Plan;
    const auto* d = Record::descriptor();
    p->supported = Supported(d);
    if (p->supported) CollectFields(d, p);
    return p;
  }();
  return *plan;
}

void AppendKey(const google::protobuf::FieldDescriptor* f, bool* first, std::string* out) {
  if (!*first) out->push_back(',');
  *first = false;
  out->push_back('"');
  out->append(f->name());
  out->append("\":");
}

bool AppendMessage(const google::protobuf::Message& m, const Plan& plan, std::string* out);

// Appends element `index` of repeated `f` (or the singular value when index < 0).
bool AppendValue(const google::protobuf::Message& m, const google::protobuf::FieldDescriptor* f,
                 int index, const Plan& plan, std::string* out) {
  using FD = google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* r = m.GetReflection();
  bool rep = index >= 0;
  auto num = [out](auto v) { fmt::format_to(std::back_inserter(*out), "{}", v); };
  auto quoted = [out](auto v) { fmt::format_to(std::back_inserter(*out), "\"{}\"", v); };
  switch (f->cpp_type()) {
    case FD::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& v = rep ? r->GetRepeatedStringReference(m, f, index, &scratch)
                                 : r->GetStringReference(m, f, &scratch);
      return AppendJsonString(v, out);
    }
    case FD::CPPTYPE_BOOL:
      out->append((rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f)) ? "true" : "false");
      return true;
    case FD::CPPTYPE_INT32:
      num(rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
      return true;
    case FD::CPPTYPE_UINT32:
      num(rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f));
      return true;
    case FD::CPPTYPE_INT64:
      quoted(rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f));
      return true;
    case FD::CPPTYPE_UINT64:
      quoted(rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f));
      return true;
    case FD::CPPTYPE_ENUM: {
      int v = rep ? r->GetRepeatedEnumValue(m, f, index) : r->GetEnumValue(m, f);
      const google::protobuf::EnumValueDescriptor* e = f->enum_type()->FindValueByNumber(v);
      if (e) {
        out->push_back('"');
        out->append(e->name());
        out->push_back('"');
      } else {
        num(v);
      }
      return true;
    }
    case FD::CPPTYPE_MESSAGE:
      return AppendMessage(rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f), plan,
                           out);
    default:
      return false;
  }
}

bool AppendMessage(const google::protobuf::Message& m, const Plan& plan, std::string* out) {
  const google::protobuf::Reflection* r = m.GetReflection();
  out->push_back('{');
  bool first = true;
  for (const google::protobuf::FieldDescriptor* f : plan.fields.at(m.GetDescriptor())) {
    if (f->is_repeated()) {
      int n = r->FieldSize(m, f);
      if (n == 0) continue;
      AppendKey(f, &first, out);
      out->push_back('[');
      for (int i = 0; i < n; ++i) {
        if (i > 0) out->push_back(',');
        if (!AppendValue(m, f, i, plan, out)) return false;
      }
      out->push_back(']');
    } else {
      // HasField is "set" for messages and "not the default" for proto3 scalars: exactly
      // what the printer leaves out.
      if (!r->HasField(m, f)) continue;
      AppendKey(f, &first, out);
      if (!AppendValue(m, f, -1, plan, out)) return false;
    }
  }
  out->push_back('}');
  return true;
}

// Writes the escape of the flagged code point at `p` (kNeedsLook is true for *p) to `d`, at most
// 12 bytes. Returns the bytes of `p` consumed, 0 when they are not well-formed UTF-8.
inline size_t WriteEscape(const unsigned char* p, const unsigned char* end, char** d) {
  char* o = *d;
  auto u16 = [&o](uint32_t unit) {
    o[0] = '\\';
    o[1] = 'u';
    o[2] = kHex[(unit >> 12) & 0xf];
    o[3] = kHex[(unit >> 8) & 0xf];
    o[4] = kHex[(unit >> 4) & 0xf];
    o[5] = kHex[unit & 0xf];
    o += 6;
  };
  auto two = [&o](char c) {
    o[0] = '\\';
    o[1] = c;
    o += 2;
  };
  size_t n = 1;
  switch (*p) {
    case '"':
      two('"');
      break;
    case '\\':
      two('\\');
      break;
    case '\b':
      two('b');
      break;
    case '\t':
      two('t');
      break;
    case '\n':
      two('n');
      break;
    case '\f':
      two('f');
      break;
    case '\r':
      two('r');
      break;
    default:
      if (*p < 0x80) {
        u16(*p);  // other C0 controls, '<', '>', DEL
        break;
      }
      uint32_t cp = 0;
      n = DecodeUtf8(p, end, &cp);
      if (n == 0) return 0;
      if (!EscapedAbove7f(cp)) {
        std::memcpy(o, p, n);
        o += n;
      } else if (cp < 0x10000) {
        u16(cp);
      } else {
        uint32_t v = cp - 0x10000;
        u16(0xd800 + (v >> 10));
        u16(0xdc00 + (v & 0x3ff));
      }
  }
  *d = o;
  return n;
}

// True when one of the 16 bytes at `p` needs a look (kNeedsLook); `*first` is the first such.
#if defined(__SSE2__)
inline bool BlockNeedsLook(const unsigned char* p, unsigned* first) {
  __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  // Signed compare: below 0x20 or at/above 0x80 (negative).
  __m128i m = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
  m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)));
  m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
  m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
  m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('<')));
  m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('>')));
  auto bits = static_cast<unsigned>(_mm_movemask_epi8(m));
  if (bits == 0) return false;
  *first = static_cast<unsigned>(__builtin_ctz(bits));
  return true;
}
#else
inline bool BlockNeedsLook(const unsigned char* p, unsigned* first) {
  for (unsigned i = 0; i < 16; ++i) {
    if (kNeedsLook[p[i]]) {
      *first = i;
      return true;
    }
  }
  return false;
}
#endif

}  // namespace

// The output is written through a raw pointer into `out` grown ahead of it: plain bytes are
// copied 16 at a time (a block is stored whole, then the pointer advances past its plain
// prefix), so the room kept ahead is at least 16 bytes for a block plus 12 for one escape.
bool AppendJsonString(std::string_view text, std::string* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  constexpr size_t kSlack = 32;
  size_t used = out->size();
  out->resize(used + text.size() + 2 + kSlack);
  char* d = out->data() + used;
  char* limit = out->data() + out->size();
  *d++ = '"';
  bool ok = true;
  while (p < end) {
    if (limit - d < static_cast<ptrdiff_t>(kSlack)) {
      // Escapes have used the room: grow by what is left to copy plus slack (amortised by
      // std::string's doubling).
      used = static_cast<size_t>(d - out->data());
      out->resize(out->size() + static_cast<size_t>(end - p) + 2 + kSlack);
      d = out->data() + used;
      limit = out->data() + out->size();
      continue;
    }
    unsigned first = 16;
    if (end - p >= 16) {
      bool hit = BlockNeedsLook(p, &first);
      std::memcpy(d, p, 16);
      if (!hit) {
        p += 16;
        d += 16;
        continue;
      }
      p += first;
      d += first;
    } else {
      while (p < end && !kNeedsLook[*p]) *d++ = static_cast<char>(*p++);
      if (p == end) break;
    }
    if (*p == '\n') {  // by far the most common escape in source text
      d[0] = '\\';
      d[1] = 'n';
      d += 2;
      ++p;
      continue;
    }
    size_t n = WriteEscape(p, end, &d);
    if (n == 0) {
      ok = false;
      break;
    }
    p += n;
  }
  if (ok) *d++ = '"';
  out->resize(static_cast<size_t>(d - out->data()));
  return ok;
}

bool AppendRecordJson(const Record& r, std::string* out) {
  const Plan& plan = RecordPlan();
  if (!plan.supported) return false;
  size_t start = out->size();
  // The JSON is about the size of the wire form plus escapes; one allocation instead of the
  // string doubling (and copying) its way up through a record's pre-images.
  size_t wire = r.ByteSizeLong();
  out->reserve(start + wire + wire / 8 + 256);
  if (!AppendMessage(r, plan, out)) {
    out->resize(start);
    return false;
  }
  return true;
}

void AppendRecordJsonLine(const Record& r, std::string* out) {
  if (!AppendRecordJson(r, out)) *out += ToJsonLine(r).value_or("{}");
  out->push_back('\n');
}

}  // namespace fixmine
