// libjpeg-turbo decoding (see jpeg_decoder.h).
#include "data/jpeg_decoder.h"

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
// jpeglib.h needs size_t and FILE declared before it.
#include <jpeglib.h>

#include "core/error.h"

namespace kiln {

namespace {

// libjpeg's decoder state is bounded (its progressive mode keeps every coefficient of the
// image, two bytes a sample), so a small file declaring a huge progressive image fails with
// "insufficient memory" instead of allocating gigabytes.
constexpr long kMaxDecoderMemory = 768L << 20;
// A progressive file can hold many scans, each a pass over the whole image: a few hundred
// bytes of scan headers could cost minutes. Encoders write about ten; more than this is refused.
constexpr int kMaxScans = 256;

// libjpeg reports errors through callbacks that must not return: error_exit jumps back to
// decode_jpeg_into with the formatted message.
struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void on_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Level -1 is a warning about corrupt data that libjpeg would otherwise hide (filling a
// truncated scan with grey, say): an error here. Other levels are trace messages.
void on_message(j_common_ptr cinfo, int level) {
  if (level < 0) on_error(cinfo);
}

int count_scans(const uint8_t* data, size_t size) {
  // Inside entropy-coded data every FF byte is followed by 00 or a restart marker, so each FF
  // DA pair is a start-of-scan marker.
  int scans = 0;
  for (size_t i = 0; i + 1 < size; ++i) scans += data[i] == 0xFF && data[i + 1] == 0xDA;
  return scans;
}

// The decoder proper. No object with a destructor lives in this frame, so longjmp out of
// libjpeg is well defined; the output buffer is malloc'ed (volatile, as it changes after
// setjmp) and handed over on success. Returns false with `message` set on failure.
bool decode_jpeg_into(const uint8_t* data, size_t size, unsigned char** out, int* width, int* height,
                      char (&message)[JMSG_LENGTH_MAX]) {
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  unsigned char* volatile pixels = nullptr;
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error;
  err.pub.emit_message = on_message;
  err.message[0] = '\0';
  if (setjmp(err.jump)) {
    std::memcpy(message, err.message, sizeof(message));
    jpeg_destroy_decompress(&cinfo);
    std::free(pixels);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  cinfo.mem->max_memory_to_use = kMaxDecoderMemory;
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  if (cinfo.image_width < 1 || cinfo.image_height < 1 || cinfo.image_width > unsigned(kMaxImageDimension) ||
      cinfo.image_height > unsigned(kMaxImageDimension)) {
    std::snprintf(message, sizeof(message), "image is %ux%u, expected 1 to %d pixels on each side",
                  cinfo.image_width, cinfo.image_height, kMaxImageDimension);
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  // Grey and YCbCr become RGB in libjpeg (grey replicated); CMYK cannot, and says so.
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&cinfo);
  const size_t row_bytes = static_cast<size_t>(cinfo.output_width) * 3;
  pixels = static_cast<unsigned char*>(std::malloc(row_bytes * cinfo.output_height));
  if (pixels == nullptr) {
    std::snprintf(message, sizeof(message), "out of memory for %ux%u pixels", cinfo.output_width,
                  cinfo.output_height);
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = pixels + row_bytes * cinfo.output_scanline;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  *width = static_cast<int>(cinfo.output_width);
  *height = static_cast<int>(cinfo.output_height);
  jpeg_destroy_decompress(&cinfo);
  *out = pixels;
  return true;
}

}  // namespace

bool has_jpeg_signature(const uint8_t* data, size_t size) {
  return size >= 2 && data[0] == 0xFF && data[1] == 0xD8;
}

DecodedImage decode_jpeg(const uint8_t* data, size_t size, const std::string& source) {
  KILN_CHECK(has_jpeg_signature(data, size), source, ": cannot decode image (not a JPEG file)");
  const int scans = count_scans(data, size);
  KILN_CHECK(scans <= kMaxScans, source, ": cannot decode image (corrupt JPEG: ", scans, " scans, more than ",
             kMaxScans, ")");
  unsigned char* pixels = nullptr;
  int width = 0, height = 0;
  char message[JMSG_LENGTH_MAX];
  if (!decode_jpeg_into(data, size, &pixels, &width, &height, message))
    KILN_FAIL(source, ": cannot decode image (corrupt JPEG: ", message, ")");
  DecodedImage image;
  image.width = width;
  image.height = height;
  image.rgb.assign(pixels, pixels + static_cast<size_t>(width) * height * 3);
  std::free(pixels);
  return image;
}

}  // namespace kiln
