// safetensors reading and writing, checked against byte images built by hand here, the exact
// bytes the reference writer produces, and a fixture written by the Python `safetensors`
// package (scripts/fixtures/make_safetensors_fixture.py).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "core/bfloat16.h"
#include "core/error.h"
#include "core/file_io.h"
#include "core/safetensors.h"
#include "core/tensor.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

using testing::TempDir;

static_assert(std::endian::native == std::endian::little, "the byte images below are little-endian");

// ---- building byte images by hand -------------------------------------------------------------

// Appends the low `nbytes` bytes of `word`, least significant first.
void append_le(std::vector<uint8_t>& out, uint64_t word, int nbytes) {
  for (int i = 0; i < nbytes; ++i) out.push_back(static_cast<uint8_t>(word >> (8 * i)));
}

// A file image: 8-byte little-endian header length, the header text as given, then `data`.
std::vector<uint8_t> image(const std::string& header, const std::vector<uint8_t>& data = {}) {
  std::vector<uint8_t> out;
  append_le(out, header.size(), 8);
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::vector<uint8_t> zeros(size_t n) { return std::vector<uint8_t>(n, 0); }

// The contiguous bytes of a tensor, whatever its dtype.
std::vector<uint8_t> raw_bytes(const Tensor& t) {
  const Tensor host = t.detach().to(Device::cpu()).contiguous();
  std::vector<uint8_t> out(host.nbytes());
  if (!out.empty()) std::memcpy(out.data(), host.raw_data(), out.size());
  return out;
}

std::vector<uint16_t> bf16_words(const Tensor& t) {
  EXPECT_EQ(t.dtype(), DType::BFloat16);
  const std::vector<uint8_t> bytes = raw_bytes(t);
  std::vector<uint16_t> out(bytes.size() / 2);
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

Tensor bf16_tensor(const std::vector<uint16_t>& words, const Shape& shape) {
  return Tensor::from_blob(words.data(), shape, DType::BFloat16);
}

const std::string kSource = "model.safetensors";

// Parses `bytes` expecting a failure; returns the message ("" and a test failure otherwise).
std::string parse_error(const std::vector<uint8_t>& bytes) {
  try {
    parse_safetensors(bytes.data(), bytes.size(), kSource);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "parse_safetensors accepted a corrupt image";
  return "";
}

// The message must name the source and contain every fragment.
void expect_rejected(const std::vector<uint8_t>& bytes, const std::vector<std::string>& fragments) {
  const std::string message = parse_error(bytes);
  EXPECT_EQ(message.rfind(kSource + ": ", 0), 0u) << message;
  for (const std::string& fragment : fragments) {
    EXPECT_NE(message.find(fragment), std::string::npos) << "missing '" << fragment << "' in: " << message;
  }
}

// One valid tensor entry, for tests that corrupt something else.
const std::string kGoodEntry = R"("a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]})";

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename());
  return names;
}

bool has_temporaries(const std::string& dir) {
  for (const std::string& name : files_in(dir)) {
    if (name.find(".tmp.") != std::string::npos) return true;
  }
  return false;
}

// ---- reading hand-built images ----------------------------------------------------------------

TEST(SafetensorsRead, HandBuiltImageParses) {
  // Entries out of offset order, whitespace inside the JSON and trailing padding, as other
  // writers may produce.
  const std::string header = R"({"__metadata__": {"note": "hand built", "epoch": "3"},
    "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
    "u": {"dtype": "U8", "shape": [3], "data_offsets": [46, 49]},
    "d": {"dtype": "F64", "shape": [], "data_offsets": [16, 24]},
    "e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [0, 0]},
    "n": {"dtype": "I64", "shape": [2], "data_offsets": [24, 40]},
    "b": {"dtype": "BF16", "shape": [3], "data_offsets": [40, 46]}}   )";
  std::vector<uint8_t> data;
  // w: F32 1, -2, 0.5, 3.25
  for (uint32_t bits : {0x3F800000u, 0xC0000000u, 0x3F000000u, 0x40500000u}) append_le(data, bits, 4);
  append_le(data, 0xBFD0000000000000ull, 8);  // d: F64 -0.25
  append_le(data, 0xFFFFFFFFFFFFFFFFull, 8);  // n: I64 -1
  append_le(data, 0x0000010000000000ull, 8);  //    and 2^40
  // b: BF16 1, -2.5, +inf
  for (uint16_t bits : {0x3F80, 0xC020, 0x7F80}) append_le(data, bits, 2);
  for (uint8_t byte : {0, 128, 255}) data.push_back(byte);  // u: U8

  const std::vector<uint8_t> bytes = image(header, data);
  const SafetensorsContents c = parse_safetensors(bytes.data(), bytes.size(), kSource);

  EXPECT_EQ(c.metadata, (Metadata{{"note", "hand built"}, {"epoch", "3"}}));
  ASSERT_EQ(c.tensors.size(), 6u);
  for (const auto& [name, t] : c.tensors) {
    EXPECT_TRUE(t.device().is_cpu()) << name;
    EXPECT_TRUE(t.is_contiguous()) << name;
  }
  const Tensor& w = c.tensors.at("w");
  EXPECT_EQ(w.dtype(), DType::Float32);
  EXPECT_EQ(w.shape(), (Shape{2, 2}));
  EXPECT_EQ(w.to_vector<float>(), (std::vector<float>{1.0f, -2.0f, 0.5f, 3.25f}));

  const Tensor& d = c.tensors.at("d");
  EXPECT_EQ(d.dtype(), DType::Float64);
  EXPECT_EQ(d.shape(), Shape{});
  EXPECT_EQ(d.numel(), 1);
  EXPECT_EQ(d.item<double>(), -0.25);

  const Tensor& e = c.tensors.at("e");
  EXPECT_EQ(e.dtype(), DType::Float32);
  EXPECT_EQ(e.shape(), (Shape{0, 3}));
  EXPECT_EQ(e.numel(), 0);

  const Tensor& n = c.tensors.at("n");
  EXPECT_EQ(n.dtype(), DType::Int64);
  EXPECT_EQ(n.to_vector<int64_t>(), (std::vector<int64_t>{-1, int64_t(1) << 40}));

  const Tensor& b = c.tensors.at("b");
  EXPECT_EQ(b.shape(), Shape{3});
  EXPECT_EQ(bf16_words(b), (std::vector<uint16_t>{0x3F80, 0xC020, 0x7F80}));
  const std::vector<float> bf = b.to_vector<float>();
  EXPECT_EQ(bf[0], 1.0f);
  EXPECT_EQ(bf[1], -2.5f);
  EXPECT_TRUE(std::isinf(bf[2]) && bf[2] > 0);

  const Tensor& u = c.tensors.at("u");
  EXPECT_EQ(u.dtype(), DType::UInt8);
  EXPECT_EQ(u.to_vector<uint8_t>(), (std::vector<uint8_t>{0, 128, 255}));
}

TEST(SafetensorsRead, EmptyHeaderAndOnlyEmptyTensors) {
  const std::vector<uint8_t> none = image("{}      ");
  const SafetensorsContents a = parse_safetensors(none.data(), none.size(), kSource);
  EXPECT_TRUE(a.tensors.empty());
  EXPECT_TRUE(a.metadata.empty());

  const std::vector<uint8_t> empties = image(R"({"x":{"dtype":"I64","shape":[0],"data_offsets":[0,0]},)"
                                             R"("y":{"dtype":"U8","shape":[5,0,2],"data_offsets":[0,0]}})");
  const SafetensorsContents b = parse_safetensors(empties.data(), empties.size(), kSource);
  ASSERT_EQ(b.tensors.size(), 2u);
  EXPECT_EQ(b.tensors.at("y").shape(), (Shape{5, 0, 2}));
}

TEST(SafetensorsRead, MissingFileNamesThePath) {
  TempDir dir;
  try {
    load_safetensors(dir.file("absent.safetensors"));
    FAIL() << "loading a missing file succeeded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("absent.safetensors"), std::string::npos) << e.what();
  }
}

// ---- corrupt images: one test per check ----------------------------------------------------------

TEST(SafetensorsCorrupt, FileShorterThanEightBytes) {
  expect_rejected({1, 0, 0, 0, 0}, {"5 bytes", "too short"});
  expect_rejected({}, {"0 bytes", "too short"});
}

TEST(SafetensorsCorrupt, HeaderLengthAboveLimit) {
  std::vector<uint8_t> bytes;
  append_le(bytes, kSafetensorsMaxHeaderBytes + 1, 8);
  bytes.push_back('{');
  expect_rejected(bytes, {"header length 100000001", "exceeds the limit"});
  // A length near 2^64 must not wrap around when 8 is added to it.
  bytes.clear();
  append_le(bytes, ~uint64_t(0), 8);
  expect_rejected(bytes, {"exceeds the limit"});
}

TEST(SafetensorsCorrupt, HeaderLengthBeyondEndOfFile) {
  std::vector<uint8_t> bytes;
  append_le(bytes, 100, 8);
  const std::string text = "{}";
  bytes.insert(bytes.end(), text.begin(), text.end());
  expect_rejected(bytes, {"header length 100", "runs past the end of the file"});
}

TEST(SafetensorsCorrupt, HeaderNotUtf8) {
  expect_rejected(image("{\"a\xff\":1}"), {"not valid UTF-8"});
  expect_rejected(image("{\"\xc0\xaf\":1}"), {"not valid UTF-8"});      // overlong '/'
  expect_rejected(image("{\"\xed\xa0\x80\":1}"), {"not valid UTF-8"});  // UTF-16 surrogate
  expect_rejected(image("{\"\xe2\x82\":1}"), {"not valid UTF-8"});      // truncated sequence
}

TEST(SafetensorsCorrupt, HeaderNotJson) {
  expect_rejected(image(R"({"a": })"), {"not valid JSON"});
  expect_rejected(image(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}} x)"), {"not valid JSON"});
  expect_rejected(image(R"({"a":1)"), {"not valid JSON"});
}

TEST(SafetensorsCorrupt, HeaderNotAJsonObject) {
  expect_rejected(image("[1, 2]"), {"must be a JSON object", "'{'"});
  expect_rejected(image("\"text\""), {"must be a JSON object"});
  expect_rejected(image(""), {"must be a JSON object", "empty header"});
  expect_rejected(image(" {}"), {"must be a JSON object"});  // the reference also insists on '{' first
}

TEST(SafetensorsCorrupt, EntryNotAnObject) {
  expect_rejected(image(R"({"a":[0,4]})", zeros(4)), {"tensor 'a'", "entry must be an object", "array"});
  expect_rejected(image(R"({"a":"F32"})"), {"tensor 'a'", "entry must be an object", "string"});
}

TEST(SafetensorsCorrupt, MissingField) {
  expect_rejected(image(R"({"a":{"dtype":"U8","shape":[4]}})", zeros(4)),
                  {"tensor 'a'", "missing field 'data_offsets'"});
  expect_rejected(image(R"({"a":{"shape":[4],"data_offsets":[0,4]}})", zeros(4)), {"missing field 'dtype'"});
  expect_rejected(image(R"({"a":{"dtype":"U8","data_offsets":[0,4]}})", zeros(4)), {"missing field 'shape'"});
}

TEST(SafetensorsCorrupt, ExtraField) {
  expect_rejected(image(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4],"offsets":[0,4]}})", zeros(4)),
                  {"tensor 'a'", "unexpected field 'offsets'"});
}

TEST(SafetensorsCorrupt, WrongJsonTypes) {
  expect_rejected(image(R"({"a":{"dtype":8,"shape":[4],"data_offsets":[0,4]}})", zeros(4)),
                  {"tensor 'a'", "dtype must be a string"});
  expect_rejected(image(R"({"a":{"dtype":"U8","shape":4,"data_offsets":[0,4]}})", zeros(4)),
                  {"shape must be an array"});
  expect_rejected(image(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":{"begin":0}}})", zeros(4)),
                  {"data_offsets must be an array [begin, end]"});
  expect_rejected(image(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4,8]}})", zeros(4)),
                  {"data_offsets must be an array [begin, end]"});
  expect_rejected(image(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":["0","4"]}})", zeros(4)),
                  {"two non-negative integers"});
  expect_rejected(image(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[-4,0]}})", zeros(4)),
                  {"two non-negative integers"});
}

TEST(SafetensorsCorrupt, ShapeEntryNegativeOrNotAnInteger) {
  expect_rejected(image(R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}})"),
                  {"tensor 'a'", "shape [-1]", "not a non-negative integer"});
  expect_rejected(image(R"({"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,0]}})"),
                  {"not a non-negative integer"});
  expect_rejected(image(R"({"a":{"dtype":"U8","shape":[4.0],"data_offsets":[0,4]}})", zeros(4)),
                  {"not a non-negative integer"});
  expect_rejected(image(R"({"a":{"dtype":"U8","shape":["4"],"data_offsets":[0,4]}})", zeros(4)),
                  {"not a non-negative integer"});
  expect_rejected(image(R"({"a":{"dtype":"U8","shape":[-0],"data_offsets":[0,0]}})"),
                  {"not a non-negative integer: -0"});
  expect_rejected(image(R"({"a":{"dtype":"U8","shape":[18446744073709551616],"data_offsets":[0,0]}})"),
                  {"not a non-negative integer"});
}

TEST(SafetensorsCorrupt, UnknownDtype) {
  expect_rejected(image(R"({"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", zeros(4)),
                  {"tensor 'a'", "unknown dtype 'F33'"});
  expect_rejected(image(R"({"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}})", zeros(4)),
                  {"unknown dtype 'f32'"});
}

TEST(SafetensorsCorrupt, ValidButUnsupportedDtype) {
  expect_rejected(image(R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", zeros(4)),
                  {"tensor 'h'", "unsupported dtype F16"});
  expect_rejected(image(R"({"i":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})", zeros(4)),
                  {"unsupported dtype I32"});
}

TEST(SafetensorsCorrupt, ShapeProductOverflows) {
  // 2^32 * 2^32 wraps to 0 in 64 bits, which would match data_offsets [0, 0].
  expect_rejected(image(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})"),
                  {"tensor 'a'", "overflows"});
  // The element count fits but times 4 bytes it wraps to 0.
  expect_rejected(image(R"({"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})"),
                  {"overflows", "byte count"});
  // A dimension above the int64 range cannot be a kiln shape even when another is 0.
  expect_rejected(image(R"({"a":{"dtype":"U8","shape":[0,9223372036854775808],"data_offsets":[0,0]}})"),
                  {"overflows", "int64"});
}

TEST(SafetensorsCorrupt, BeginAfterEnd) {
  expect_rejected(image(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[8,4]}})", zeros(8)),
                  {"tensor 'a'", "data_offsets [8, 4]", "begin after they end"});
}

TEST(SafetensorsCorrupt, ByteCountDisagreesWithShapeAndDtype) {
  const std::vector<uint8_t> bytes =
      image(R"({"fc.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,12]}})", zeros(12));
  EXPECT_EQ(
      parse_error(bytes),
      "model.safetensors: tensor 'fc.weight': data_offsets [0, 12] hold 12 bytes but dtype F32 and shape "
      "[2, 3] need 24");
  // A 0-d tensor holds one element, not zero.
  expect_rejected(image(R"({"s":{"dtype":"F64","shape":[],"data_offsets":[0,0]}})"),
                  {"hold 0 bytes", "need 8"});
}

TEST(SafetensorsCorrupt, OverlappingRanges) {
  expect_rejected(image(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},)"
                        R"("b":{"dtype":"U8","shape":[8],"data_offsets":[4,12]}})",
                        zeros(12)),
                  {"tensor 'b'", "overlaps tensor 'a'"});
  // Two tensors on the same bytes.
  expect_rejected(image(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                        R"("b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})",
                        zeros(4)),
                  {"overlaps"});
}

TEST(SafetensorsCorrupt, HoleBetweenRanges) {
  expect_rejected(image(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                        R"("b":{"dtype":"U8","shape":[4],"data_offsets":[8,12]}})",
                        zeros(12)),
                  {"tensor 'b'", "leaves a hole after tensor 'a'"});
}

TEST(SafetensorsCorrupt, FirstRangeDoesNotStartAtZero) {
  expect_rejected(image(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})", zeros(8)),
                  {"tensor 'a'", "begin at byte 0"});
}

TEST(SafetensorsCorrupt, TrailingBytesAfterLastTensor) {
  expect_rejected(image("{" + kGoodEntry + "}", zeros(6)), {"2 trailing bytes"});
  // Data behind a header that declares no tensors is trailing too.
  expect_rejected(image("{}", zeros(1)), {"1 trailing byte "});
}

TEST(SafetensorsCorrupt, TruncatedData) {
  expect_rejected(image("{" + kGoodEntry + "}", zeros(3)),
                  {"tensor 'a'", "data_offsets [0, 4]", "run past the end of the file"});
}

TEST(SafetensorsCorrupt, OffsetsOverflow) {
  // 3 * 6148914691236517205 = 2^64 - 1 elements of one byte: shape, dtype and offsets agree,
  // but the end offset cannot be added to the header size.
  expect_rejected(image(R"({"a":{"dtype":"U8","shape":[3,6148914691236517205],)"
                        R"("data_offsets":[0,18446744073709551615]}})"),
                  {"tensor 'a'", "data_offsets [0, 18446744073709551615] overflow"});
}

TEST(SafetensorsCorrupt, DuplicateTensorName) {
  // nlohmann keeps the last of two equal keys; the first tensor must not vanish silently.
  expect_rejected(image(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                        R"("a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})",
                        zeros(8)),
                  {"duplicate tensor name 'a'"});
}

TEST(SafetensorsCorrupt, DuplicateKeysElsewhere) {
  expect_rejected(image(R"({"a":{"dtype":"U8","dtype":"F32","shape":[4],"data_offsets":[0,4]}})", zeros(4)),
                  {"duplicate key 'dtype'", "inside 'a'"});
  expect_rejected(image(R"({"__metadata__":{"k":"1"},"__metadata__":{"k":"2"}})"),
                  {"duplicate key '__metadata__'"});
  expect_rejected(image(R"({"__metadata__":{"k":"1","k":"2"}})"),
                  {"duplicate key 'k'", "inside '__metadata__'"});
}

TEST(SafetensorsCorrupt, MetadataNotAnObjectOfStrings) {
  expect_rejected(image(R"({"__metadata__":{"epoch":3}})"),
                  {"'__metadata__' entry 'epoch' must be a string"});
  expect_rejected(image(R"({"__metadata__":["a"]})"), {"'__metadata__' must be an object of strings"});
  expect_rejected(image(R"({"__metadata__":null})"), {"'__metadata__' must be an object of strings"});
}

TEST(SafetensorsCorrupt, EmptyTensorName) {
  expect_rejected(image(R"({"":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", zeros(4)), {"empty name"});
}

// ---- writing ------------------------------------------------------------------------------------

std::vector<uint8_t> f32_image(const std::string& header) {
  std::vector<uint8_t> data;
  for (uint32_t bits : {0x00000000u, 0x3F800000u, 0x40000000u, 0x40400000u, 0x40800000u, 0x40A00000u}) {
    append_le(data, bits, 4);  // 0 1 2 3 4 5
  }
  return image(header, data);
}

TEST(SafetensorsWrite, MatchesTheReferenceWriterByteForByte) {
  // The expected images are those of the reference implementation's own serialization tests.
  const Tensor values = Tensor::from_vector(std::vector<float>{0, 1, 2, 3, 4, 5}, {1, 2, 3});
  EXPECT_EQ(serialize_safetensors({{"attn.0", values}}),
            f32_image(R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})"));
  // A 65-byte header gets 7 spaces so the data starts 8-byte aligned.
  EXPECT_EQ(serialize_safetensors({{"attn0", values.view({1, 1, 2, 3})}}),
            f32_image(R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       )"));
  EXPECT_EQ(serialize_safetensors({}), image("{}      "));
  EXPECT_EQ(serialize_safetensors({}, {{"framework", "pt"}}),
            image(R"({"__metadata__":{"framework":"pt"}}     )"));
}

TEST(SafetensorsWrite, LaysOutTensorsInNameOrder) {
  const Tensor b = Tensor::from_vector(std::vector<uint8_t>{7, 8, 9}, {3});
  const Tensor a = Tensor::from_vector(std::vector<int64_t>{-2}, {});
  std::vector<uint8_t> data;
  append_le(data, 0xFFFFFFFFFFFFFFFEull, 8);  // -2
  for (uint8_t byte : {7, 8, 9}) data.push_back(byte);
  EXPECT_EQ(serialize_safetensors({{"b", b}, {"a", a}}, {{"k", "v"}}),
            image(R"({"__metadata__":{"k":"v"},"a":{"dtype":"I64","shape":[],"data_offsets":[0,8]},)"
                  R"("b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}}     )",
                  data));
}

TEST(SafetensorsWrite, RejectsReservedEmptyAndUndefinedNames) {
  const Tensor t = Tensor::zeros({2});
  EXPECT_THROW(serialize_safetensors({{"", t}}), Error);
  EXPECT_THROW(serialize_safetensors({{"__metadata__", t}}), Error);
  EXPECT_THROW(serialize_safetensors({{"x", Tensor()}}), Error);
  EXPECT_THROW(serialize_safetensors({{"bad\xff", t}}), Error);
  EXPECT_THROW(serialize_safetensors({}, {{"k", "bad\xff"}}), Error);
}

TEST(SafetensorsRoundTrip, EveryDtypeShapeAndLayout) {
  TempDir dir;
  const std::string path = dir.file("all.safetensors");

  const Tensor base =
      Tensor::from_vector(std::vector<float>{1.5f, -2.0f, 3.25f, 0.0f, -0.0f, 1e-30f}, {2, 3});
  const Tensor transposed = base.transpose(0, 1);  // [3, 2]: row-major 1.5 0 -2 -0 3.25 1e-30
  ASSERT_FALSE(transposed.is_contiguous());
  const std::vector<double> f64 = {0.1, -1e300, std::numeric_limits<double>::denorm_min(), 42.0};
  const std::vector<int64_t> i64 = {std::numeric_limits<int64_t>::min(), -1, 0,
                                    std::numeric_limits<int64_t>::max()};
  const std::vector<uint8_t> u8 = {0, 1, 127, 128, 254, 255};
  const std::vector<uint16_t> bf16 = {0x3F80, 0x8000, 0x7F80,
                                      0xFF80, 0x7FC0, 0x0001};  // 1 -0 inf -inf nan denormal

  TensorMap tensors{
      {"f32.transposed", transposed},         {"f64", Tensor::from_vector(f64, {2, 2})},
      {"i64", Tensor::from_vector(i64, {4})}, {"u8", Tensor::from_vector(u8, {1, 2, 3})},
      {"bf16", bf16_tensor(bf16, {3, 2})},    {"scalar", Tensor::full({}, 6.5, DType::Float64)},
      {"empty", Tensor::zeros({0, 3})},
  };
  const Metadata metadata{{"epoch", "12"}, {"note", "caf\xc3\xa9 \xe2\x9c\x93"}, {"empty", ""}};
  save_safetensors(path, tensors, metadata);

  // The file itself: aligned header length, and the data buffer is exactly the tensors' bytes.
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(bytes[i]) << (8 * i);
  EXPECT_EQ((8 + n) % 8, 0u);
  EXPECT_EQ(bytes.size(), 8 + n + 6 * 2 + 4 * 8 + 4 * 8 + 6 + 6 * 4 + 8);

  const SafetensorsContents c = load_safetensors(path);
  EXPECT_EQ(c.metadata, metadata);
  ASSERT_EQ(c.tensors.size(), tensors.size());

  const Tensor& f = c.tensors.at("f32.transposed");
  EXPECT_EQ(f.shape(), (Shape{3, 2}));
  EXPECT_EQ(f.dtype(), DType::Float32);
  const std::vector<float> expected_f = {1.5f, 0.0f, -2.0f, -0.0f, 3.25f, 1e-30f};
  EXPECT_EQ(std::memcmp(f.raw_data(), expected_f.data(), expected_f.size() * 4), 0);  // keeps -0's sign

  EXPECT_EQ(c.tensors.at("f64").shape(), (Shape{2, 2}));
  EXPECT_EQ(c.tensors.at("f64").to_vector<double>(), f64);
  EXPECT_EQ(c.tensors.at("i64").to_vector<int64_t>(), i64);
  EXPECT_EQ(c.tensors.at("u8").shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(c.tensors.at("u8").to_vector<uint8_t>(), u8);
  EXPECT_EQ(c.tensors.at("bf16").shape(), (Shape{3, 2}));
  EXPECT_EQ(bf16_words(c.tensors.at("bf16")), bf16);  // NaN payload and denormal bits intact
  EXPECT_EQ(c.tensors.at("scalar").shape(), Shape{});
  EXPECT_EQ(c.tensors.at("scalar").item<double>(), 6.5);
  EXPECT_EQ(c.tensors.at("empty").shape(), (Shape{0, 3}));
  EXPECT_EQ(c.tensors.at("empty").dtype(), DType::Float32);
}

TEST(SafetensorsRoundTrip, CudaTensorsAreCopiedToTheHost) {
  KILN_REQUIRE_CUDA();
  const Tensor host = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor device = host.to(Device::cuda(0)).transpose(0, 1);
  const std::vector<uint8_t> bytes = serialize_safetensors({{"x", device}});
  const SafetensorsContents c = parse_safetensors(bytes.data(), bytes.size(), "cuda image");
  EXPECT_TRUE(c.tensors.at("x").device().is_cpu());
  EXPECT_EQ(c.tensors.at("x").to_vector<double>(), (std::vector<double>{1, 4, 2, 5, 3, 6}));
}

// ---- atomic saves -----------------------------------------------------------------------------------

TEST(SafetensorsSave, ReplacesAnExistingFileAndLeavesNoTemporaries) {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  save_safetensors(path, {{"a", Tensor::full({3}, 1.0)}});
  save_safetensors(path, {{"b", Tensor::full({2}, 7.0, DType::Float64)}}, {{"step", "2"}});
  const SafetensorsContents c = load_safetensors(path);
  ASSERT_EQ(c.tensors.size(), 1u);
  EXPECT_EQ(c.tensors.at("b").to_vector<double>(), (std::vector<double>{7.0, 7.0}));
  EXPECT_EQ(c.metadata.at("step"), "2");
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"model.safetensors"});
}

TEST(SafetensorsSave, FailedSaveLeavesThePreviousFileIntact) {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  save_safetensors(path, {{"a", Tensor::full({3}, 1.0)}});
  const std::vector<uint8_t> before = read_file_bytes(path);

  for (const TensorMap& bad : {TensorMap{{"x", Tensor()}}, TensorMap{{"__metadata__", Tensor::zeros({1})}}}) {
    try {
      save_safetensors(path, bad);
      ADD_FAILURE() << "saving an invalid map succeeded";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
    EXPECT_EQ(read_file_bytes(path), before);
    EXPECT_FALSE(has_temporaries(dir.path()));
  }
}

TEST(SafetensorsSave, UnwritableDirectoryFailsCleanly) {
  TempDir dir;
  // A path under a regular file fails for every user, root included.
  const std::string blocker = dir.file("not_a_dir");
  write_file_atomic(blocker, "x");
  EXPECT_THROW(save_safetensors(blocker + "/model.safetensors", {{"a", Tensor::zeros({2})}}), Error);
  EXPECT_THROW(save_safetensors(dir.file("missing/model.safetensors"), {{"a", Tensor::zeros({2})}}), Error);
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"not_a_dir"});

  // A read-only directory: root ignores the permission bits, so only other users can check it.
  if (::geteuid() == 0) return;
  const std::string sub = dir.file("ro");
  std::filesystem::create_directory(sub);
  const std::string path = sub + "/model.safetensors";
  save_safetensors(path, {{"a", Tensor::full({3}, 1.0)}});
  const std::vector<uint8_t> before = read_file_bytes(path);
  ASSERT_EQ(::chmod(sub.c_str(), 0555), 0);
  EXPECT_THROW(save_safetensors(path, {{"b", Tensor::zeros({2})}}), Error);
  ::chmod(sub.c_str(), 0755);
  EXPECT_EQ(read_file_bytes(path), before);
  EXPECT_FALSE(has_temporaries(sub));
}

// ---- a file written by the Python reference package ---------------------------------------------

TEST(SafetensorsReference, PythonFixtureLoadsWithExpectedValues) {
  // Values: see scripts/fixtures/make_safetensors_fixture.py, which defines the same formulas.
  const SafetensorsContents c =
      load_safetensors(testing::source_dir() + "/tests/fixtures/safetensors/reference.safetensors");
  EXPECT_EQ(c.metadata,
            (Metadata{{"format", "pt"}, {"producer", "scripts/fixtures/make_safetensors_fixture.py"}}));
  ASSERT_EQ(c.tensors.size(), 7u);

  const Tensor& w = c.tensors.at("weight_f32");
  EXPECT_EQ(w.dtype(), DType::Float32);
  EXPECT_EQ(w.shape(), (Shape{3, 4}));
  std::vector<float> expected_w;
  for (int i = 0; i < 12; ++i) expected_w.push_back((static_cast<float>(i) - 5.0f) / 3.0f);
  EXPECT_EQ(w.to_vector<float>(), expected_w);

  const Tensor& v = c.tensors.at("values_f64");
  EXPECT_EQ(v.dtype(), DType::Float64);
  EXPECT_EQ(v.shape(), Shape{5});
  std::vector<double> expected_v;
  for (int i = 0; i < 5; ++i) expected_v.push_back((i + 1.0) / 7.0);
  EXPECT_EQ(v.to_vector<double>(), expected_v);

  const Tensor& l = c.tensors.at("labels_i64");
  EXPECT_EQ(l.dtype(), DType::Int64);
  EXPECT_EQ(l.shape(), (Shape{2, 3}));
  std::vector<int64_t> expected_l;
  for (int64_t i = 0; i < 6; ++i) expected_l.push_back((i - 3) * 1'000'000'000'007);
  EXPECT_EQ(l.to_vector<int64_t>(), expected_l);

  const Tensor& p = c.tensors.at("pixels_u8");
  EXPECT_EQ(p.dtype(), DType::UInt8);
  EXPECT_EQ(p.shape(), (Shape{2, 2, 3}));
  std::vector<uint8_t> expected_p;
  for (int i = 0; i < 12; ++i) expected_p.push_back(static_cast<uint8_t>((23 * i + 7) % 256));
  EXPECT_EQ(p.to_vector<uint8_t>(), expected_p);

  const Tensor& h = c.tensors.at("half_bf16");
  EXPECT_EQ(h.dtype(), DType::BFloat16);
  EXPECT_EQ(h.shape(), (Shape{2, 3}));
  // (i - 2) / 3 rounded by torch: -2/3 -1/3 0 1/3 2/3 1.
  EXPECT_EQ(bf16_words(h), (std::vector<uint16_t>{0xBF2B, 0xBEAB, 0x0000, 0x3EAB, 0x3F2B, 0x3F80}));
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(bf16_words(h)[i], float_to_bf16((static_cast<float>(i) - 2.0f) / 3.0f).bits) << i;
  }

  const Tensor& s = c.tensors.at("scalar_f64");
  EXPECT_EQ(s.shape(), Shape{});
  EXPECT_EQ(s.item<double>(), -0.125);

  const Tensor& e = c.tensors.at("empty_f32");
  EXPECT_EQ(e.dtype(), DType::Float32);
  EXPECT_EQ(e.shape(), (Shape{0, 3}));
}

}  // namespace
}  // namespace kiln
