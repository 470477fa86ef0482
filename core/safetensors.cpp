// Reading and writing the safetensors format (see core/safetensors.h for the layout).
// The reader trusts nothing in the file: every length, offset and shape is checked before
// it is used, so a corrupt or hostile file produces a kiln::Error, never a bad read.
#include "core/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <set>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"

namespace kiln {

// The file stores every number little-endian and the reader copies tensor bytes as they are.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

using Json = nlohmann::json;

constexpr const char* kMetadataKey = "__metadata__";

// ---- dtypes ---------------------------------------------------------------------------------

const char* safetensors_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return "F32";
    case DType::Float64:
      return "F64";
    case DType::Int64:
      return "I64";
    case DType::UInt8:
      return "U8";
    case DType::BFloat16:
      return "BF16";
  }
  KILN_FAIL("safetensors: dtype ", static_cast<int>(dtype), " has no safetensors name");
}

bool kiln_dtype_from_name(const std::string& name, DType& dtype) {
  static const std::pair<const char*, DType> kTable[] = {
      {"F32", DType::Float32}, {"F64", DType::Float64},   {"I64", DType::Int64},
      {"U8", DType::UInt8},    {"BF16", DType::BFloat16},
  };
  for (const auto& [text, value] : kTable) {
    if (name == text) {
      dtype = value;
      return true;
    }
  }
  return false;
}

// Valid in the format but not storable in a kiln tensor; named separately so the error says
// "unsupported" rather than "unknown" for a file that another library would read.
bool is_other_safetensors_dtype(const std::string& name) {
  static const char* const kOthers[] = {"BOOL",    "U16", "U32",     "U64",     "I8",
                                        "I16",     "I32", "F16",     "F8_E5M2", "F8_E4M3",
                                        "F8_E8M0", "F4",  "F6_E2M3", "F6_E3M2", "C64"};
  return std::any_of(std::begin(kOthers), std::end(kOthers),
                     [&](const char* other) { return name == other; });
}

// ---- small helpers ----------------------------------------------------------------------------

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
// Returns the offset of the first bad byte, or npos when the text is valid.
size_t first_invalid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // UTF-16 surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return i;
    }
    if (i + len > n) return i;
    if (s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

std::string json_type(const Json& value) {
  if (value.is_number_integer()) return "an integer";
  if (value.is_number_float()) return "a non-integer number";
  if (value.is_null()) return "null";
  return std::string(value.is_object() || value.is_array() ? "an " : "a ") + value.type_name();
}

// How a JSON value was written, for messages. nlohmann prints the literal "-0" as 0.
std::string literal_text(const Json& value) {
  if (value.is_number_integer() && !value.is_number_unsigned() && value.get<int64_t>() == 0) return "-0";
  return value.dump();
}

std::string shape_text(const std::vector<uint64_t>& dims) {
  std::string out = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(dims[i]);
  }
  return out + "]";
}

// A JSON integer literal without a sign, which nlohmann stores as unsigned. Like the reference
// parser this rejects "4.0", "1e2" and "-0", and anything above 2^64 - 1 (parsed as a float).
bool as_non_negative_integer(const Json& value, uint64_t& out) {
  if (!value.is_number_unsigned()) return false;
  out = value.get<uint64_t>();
  return true;
}

// ---- header parsing -----------------------------------------------------------------------------

// One tensor entry of the header, validated on its own (offsets are checked against each
// other afterwards).
struct Entry {
  std::string name;
  DType dtype = DType::Float32;
  Shape shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

// Parses the header text, rejecting duplicate keys at any depth. nlohmann keeps only the last
// of two equal keys, which would let a file hide a tensor; the parser callback sees every key.
Json parse_header_json(std::string_view text, const std::string& source) {
  struct Frame {
    std::string owner;  // the key whose value is this object ("" for the top level)
    std::set<std::string> keys;
  };
  std::vector<Frame> frames;
  std::string last_key;
  bool has_duplicate = false;
  bool duplicate_at_top = false;
  std::string duplicate_key, duplicate_owner;
  const Json::parser_callback_t on_event = [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
        frames.push_back({frames.empty() ? std::string() : last_key, {}});
        break;
      case Json::parse_event_t::object_end:
        if (!frames.empty()) frames.pop_back();
        break;
      case Json::parse_event_t::key:
        last_key = parsed.get<std::string>();
        if (!has_duplicate && !frames.empty() && !frames.back().keys.insert(last_key).second) {
          has_duplicate = true;
          duplicate_key = last_key;
          duplicate_owner = frames.back().owner;
          duplicate_at_top = frames.size() == 1;
        }
        break;
      default:
        break;
    }
    return true;
  };

  Json header;
  try {
    header = Json::parse(text.begin(), text.end(), on_event);
  } catch (const Json::parse_error& e) {
    KILN_FAIL(source, ": header is not valid JSON (error at header byte ", e.byte, "): ", e.what());
  } catch (const Json::exception& e) {
    KILN_FAIL(source, ": header is not valid JSON: ", e.what());
  }
  if (has_duplicate && duplicate_at_top && duplicate_key != kMetadataKey) {
    KILN_FAIL(source, ": duplicate tensor name '", duplicate_key, "' in the header");
  }
  if (has_duplicate) {
    KILN_FAIL(source, ": duplicate key '", duplicate_key, "' ",
              duplicate_at_top ? std::string("in the header") : "inside '" + duplicate_owner + "'");
  }
  return header;
}

Metadata parse_metadata(const Json& value, const std::string& source) {
  KILN_CHECK(value.is_object(), source, ": '", kMetadataKey, "' must be an object of strings, got ",
             json_type(value));
  Metadata metadata;
  for (const auto& [key, item] : value.items()) {
    KILN_CHECK(item.is_string(), source, ": '", kMetadataKey, "' entry '", key, "' must be a string, got ",
               json_type(item));
    metadata.emplace(key, item.get<std::string>());
  }
  return metadata;
}

Entry parse_entry(const std::string& name, const Json& value, const std::string& source) {
  KILN_CHECK(!name.empty(), source, ": header has a tensor with an empty name");
  const std::string where = source + ": tensor '" + name + "'";
  KILN_CHECK(value.is_object(), where, ": entry must be an object, got ", json_type(value));
  for (const auto& [key, item] : value.items()) {
    KILN_CHECK(key == "dtype" || key == "shape" || key == "data_offsets", where, ": unexpected field '", key,
               "' (expected only dtype, shape, data_offsets)");
  }
  for (const char* field : {"dtype", "shape", "data_offsets"}) {
    KILN_CHECK(value.contains(field), where, ": missing field '", field, "'");
  }

  Entry entry;
  entry.name = name;

  const Json& dtype = value["dtype"];
  KILN_CHECK(dtype.is_string(), where, ": dtype must be a string, got ", json_type(dtype));
  const std::string dtype_text = dtype.get<std::string>();
  if (!kiln_dtype_from_name(dtype_text, entry.dtype)) {
    KILN_CHECK(!is_other_safetensors_dtype(dtype_text), where, ": unsupported dtype ", dtype_text,
               " (kiln stores F32, F64, I64, U8 and BF16)");
    KILN_FAIL(where, ": unknown dtype '", dtype_text, "'");
  }

  const Json& shape = value["shape"];
  KILN_CHECK(shape.is_array(), where, ": shape must be an array, got ", json_type(shape));
  std::vector<uint64_t> dims;
  for (const Json& item : shape) {
    uint64_t d = 0;
    KILN_CHECK(as_non_negative_integer(item, d), where, ": shape ", shape.dump(),
               " has an entry that is not a non-negative integer: ", literal_text(item));
    dims.push_back(d);
  }
  // Checked products: a crafted shape must not wrap around to a small, plausible byte count.
  uint64_t numel = 1;
  for (uint64_t d : dims) {
    KILN_CHECK(!__builtin_mul_overflow(numel, d, &numel), where, ": shape ", shape_text(dims),
               " overflows: its element count does not fit in 64 bits");
  }
  for (uint64_t d : dims) {
    KILN_CHECK(d <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), where, ": shape ",
               shape_text(dims), " overflows: dimension ", d, " does not fit in int64");
    entry.shape.push_back(static_cast<int64_t>(d));
  }
  uint64_t nbytes = 0;
  KILN_CHECK(!__builtin_mul_overflow(numel, static_cast<uint64_t>(dtype_size(entry.dtype)), &nbytes), where,
             ": shape ", shape_text(dims), " with dtype ", dtype_text,
             " overflows: its byte count does not fit in 64 bits");

  const Json& offsets = value["data_offsets"];
  KILN_CHECK(offsets.is_array() && offsets.size() == 2, where,
             ": data_offsets must be an array [begin, end], got ", offsets.dump());
  KILN_CHECK(
      as_non_negative_integer(offsets[0], entry.begin) && as_non_negative_integer(offsets[1], entry.end),
      where, ": data_offsets ", offsets.dump(), " must hold two non-negative integers");
  KILN_CHECK(entry.begin <= entry.end, where, ": data_offsets [", entry.begin, ", ", entry.end,
             "] begin after they end");
  const uint64_t held = entry.end - entry.begin;
  KILN_CHECK(held == nbytes, where, ": data_offsets [", entry.begin, ", ", entry.end, "] hold ", held,
             " bytes but dtype ", dtype_text, " and shape ", shape_text(dims), " need ", nbytes);
  return entry;
}

}  // namespace

// ---- writing --------------------------------------------------------------------------------------

std::vector<uint8_t> serialize_safetensors(const TensorMap& tensors, const Metadata& metadata) {
  // Host copies first: they fix each tensor's byte count and keep device copies out of the
  // loop that lays out the buffer.
  std::vector<Tensor> host;
  host.reserve(tensors.size());
  // ordered_json keeps insertion order, giving the reference writer's layout: metadata first,
  // then tensors in name order, each as dtype, shape, data_offsets.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata) {
      KILN_CHECK(first_invalid_utf8(key) == std::string_view::npos,
                 "safetensors: metadata key is not valid UTF-8");
      KILN_CHECK(first_invalid_utf8(value) == std::string_view::npos, "safetensors: metadata value for '",
                 key, "' is not valid UTF-8");
      meta[key] = value;
    }
    header[kMetadataKey] = std::move(meta);
  }
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    KILN_CHECK(!name.empty(), "safetensors: tensor names must be non-empty");
    KILN_CHECK(name != kMetadataKey, "safetensors: '", kMetadataKey,
               "' is reserved and cannot name a tensor");
    KILN_CHECK(first_invalid_utf8(name) == std::string_view::npos,
               "safetensors: tensor name is not valid UTF-8");
    KILN_CHECK(tensor.defined(), "safetensors: tensor '", name, "' is undefined");
    Tensor t = tensor.detach().to(Device::cpu()).contiguous();
    const uint64_t nbytes = t.nbytes();
    header[name] = {{"dtype", safetensors_dtype_name(t.dtype())},
                    {"shape", t.shape()},
                    {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    host.push_back(std::move(t));
  }

  std::string text = header.dump();
  // Pad with spaces so the data buffer starts 8-byte aligned, as the reference writer does.
  text.append((8 - text.size() % 8) % 8, ' ');
  KILN_CHECK(text.size() <= kSafetensorsMaxHeaderBytes, "safetensors: header would be ", text.size(),
             " bytes, more than the format's limit of ", kSafetensorsMaxHeaderBytes);

  std::vector<uint8_t> out(8 + text.size() + offset);
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(n >> (8 * i));
  std::memcpy(out.data() + 8, text.data(), text.size());
  uint8_t* cursor = out.data() + 8 + text.size();
  for (const Tensor& t : host) {
    if (t.nbytes() > 0) std::memcpy(cursor, t.raw_data(), t.nbytes());
    cursor += t.nbytes();
  }
  return out;
}

void save_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata) {
  std::vector<uint8_t> bytes;
  try {
    bytes = serialize_safetensors(tensors, metadata);
  } catch (const Error& e) {
    KILN_FAIL("cannot write '", path, "': ", e.what());
  }
  write_file_atomic(path, bytes.data(), bytes.size());
}

// ---- reading ----------------------------------------------------------------------------------------

SafetensorsContents parse_safetensors(const uint8_t* data, size_t size, const std::string& source) {
  KILN_CHECK(size >= 8, source, ": file is ", size, " bytes, too short for the 8-byte header length");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(data[i]) << (8 * i);
  KILN_CHECK(n <= kSafetensorsMaxHeaderBytes, source, ": header length ", n, " exceeds the limit of ",
             kSafetensorsMaxHeaderBytes, " bytes");
  KILN_CHECK(n <= size - 8, source, ": header length ", n, " runs past the end of the file (", size,
             " bytes, so at most ", size - 8, " header bytes)");

  const std::string_view text(reinterpret_cast<const char*>(data + 8), static_cast<size_t>(n));
  const size_t bad = first_invalid_utf8(text);
  KILN_CHECK(bad == std::string_view::npos, source, ": header is not valid UTF-8 (bad byte at header offset ",
             bad, ")");
  KILN_CHECK(!text.empty() && text.front() == '{', source,
             ": header must be a JSON object starting with '{', got ",
             text.empty() ? std::string("an empty header")
                          : "'" + std::string(text.substr(0, 16)) + (text.size() > 16 ? "...'" : "'"));
  const Json header = parse_header_json(text, source);
  KILN_CHECK(header.is_object(), source, ": header must be a JSON object, got ", json_type(header));

  SafetensorsContents contents;
  std::vector<Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == kMetadataKey) {
      contents.metadata = parse_metadata(value, source);
    } else {
      entries.push_back(parse_entry(key, value, source));
    }
  }

  // The byte ranges, in offset order, must tile the data buffer exactly: anything else is a
  // truncated, padded or tampered file.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  const uint64_t buffer_size = size - 8 - n;
  const uint8_t* buffer = data + 8 + n;
  uint64_t expected_begin = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    if (e.begin != expected_begin) {
      const std::string what = e.begin < expected_begin ? "overlaps" : "leaves a hole after";
      if (previous == nullptr) {
        KILN_FAIL(source, ": tensor '", e.name, "': data_offsets [", e.begin, ", ", e.end,
                  "] leave a hole: the first tensor must begin at byte 0");
      }
      KILN_FAIL(source, ": tensor '", e.name, "': data_offsets [", e.begin, ", ", e.end, "] ", what,
                " tensor '", previous->name, "' [", previous->begin, ", ", previous->end,
                "]: each tensor must begin where the previous one ends");
    }
    uint64_t file_end = 0;
    KILN_CHECK(!__builtin_add_overflow(e.end, 8 + n, &file_end), source, ": tensor '", e.name,
               "': data_offsets [", e.begin, ", ", e.end, "] overflow 64-bit file offsets");
    KILN_CHECK(e.end <= buffer_size, source, ": tensor '", e.name, "': data_offsets [", e.begin, ", ", e.end,
               "] run past the end of the file (data buffer is ", buffer_size, " bytes; truncated file?)");
    expected_begin = e.end;
    previous = &e;
  }
  const uint64_t trailing = buffer_size - expected_begin;
  KILN_CHECK(trailing == 0, source, ": ", trailing, trailing == 1 ? " trailing byte" : " trailing bytes",
             " after the last tensor (tensors cover ", expected_begin, " of the ", buffer_size,
             " data bytes)");

  for (const Entry& e : entries) {
    contents.tensors.emplace(e.name, Tensor::from_blob(buffer + e.begin, e.shape, e.dtype));
  }
  return contents;
}

SafetensorsContents load_safetensors(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  return parse_safetensors(bytes.data(), bytes.size(), path);
}

}  // namespace kiln
