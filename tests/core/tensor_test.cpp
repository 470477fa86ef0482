// Tensor metadata, creation, views and data movement, checked against values computed by
// hand (row-major index arithmetic), on every device x dtype.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "core/ops.h"
#include "core/tensor.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

using testing::all_close;
using testing::DeviceDType;

class TensorTest : public ::testing::TestWithParam<DeviceDType> {
 protected:
  void SetUp() override { KILN_SKIP_UNLESS_DEVICE(GetParam().device); }
  Device dev() const { return GetParam().device; }
  DType dt() const { return GetParam().dtype; }
  // 0, 1, 2, ... laid out in `shape`.
  Tensor iota(const Shape& shape) const {
    std::vector<double> v(shape_numel(shape));
    std::iota(v.begin(), v.end(), 0.0);
    return Tensor::from_vector(v, shape).to(dt()).to(dev());
  }
};

TEST_P(TensorTest, CreationAndMetadata) {
  Tensor z = Tensor::zeros({2, 3}, dt(), dev());
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.strides(), (Shape{3, 1}));
  EXPECT_EQ(z.numel(), 6);
  EXPECT_EQ(z.dim(), 2);
  EXPECT_EQ(z.size(-1), 3);
  EXPECT_TRUE(z.is_contiguous());
  EXPECT_EQ(z.device(), dev());
  EXPECT_TRUE(all_close(z, std::vector<double>(6, 0.0), 0, 0));
  EXPECT_TRUE(all_close(Tensor::full({4}, 2.5, dt(), dev()), {2.5, 2.5, 2.5, 2.5}, 0, 0));
  EXPECT_TRUE(all_close(Tensor::arange(4, dt(), dev()), {0, 1, 2, 3}, 0, 0));
  EXPECT_EQ(Tensor::ones({}, dt(), dev()).item<double>(), 1.0);
  EXPECT_EQ(Tensor::empty({0, 5}, dt(), dev()).numel(), 0);
}

TEST_P(TensorTest, TransposeAndPermuteReadTheRightElements) {
  const Tensor x = iota({2, 3, 4});
  const Tensor t = x.transpose(0, 2);  // [4, 3, 2], t[i][j][k] = x[k][j][i] = 12k + 4j + i
  EXPECT_FALSE(t.is_contiguous());
  std::vector<double> expected;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 2; ++k) expected.push_back(12 * k + 4 * j + i);
  EXPECT_TRUE(all_close(t, expected, 0, 0));
  EXPECT_TRUE(all_close(t.contiguous(), expected, 0, 0));
  EXPECT_TRUE(t.contiguous().is_contiguous());
  const Tensor p = x.permute({1, 2, 0});  // [3, 4, 2], p[a][b][c] = x[c][a][b]
  std::vector<double> expected_p;
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 4; ++b)
      for (int c = 0; c < 2; ++c) expected_p.push_back(12 * c + 4 * a + b);
  EXPECT_TRUE(all_close(p, expected_p, 0, 0));
}

TEST_P(TensorTest, NarrowSelectExpandView) {
  const Tensor x = iota({3, 4});
  EXPECT_TRUE(all_close(x.narrow(1, 1, 2), {1, 2, 5, 6, 9, 10}, 0, 0));
  EXPECT_TRUE(all_close(x.select(0, 2), {8, 9, 10, 11}, 0, 0));
  EXPECT_TRUE(all_close(x.select(1, -1), {3, 7, 11}, 0, 0));
  const Tensor col = iota({3, 1});
  EXPECT_TRUE(all_close(col.expand({3, 2}), {0, 0, 1, 1, 2, 2}, 0, 0));
  EXPECT_TRUE(all_close(iota({2}).expand({2, 2}), {0, 1, 0, 1}, 0, 0));
  EXPECT_EQ(x.view({2, -1}).shape(), (Shape{2, 6}));
  EXPECT_EQ(x.view({12}).storage(), x.storage());  // a view, no copy
  EXPECT_EQ(x.unsqueeze(0).shape(), (Shape{1, 3, 4}));
  EXPECT_EQ(x.unsqueeze(-1).shape(), (Shape{3, 4, 1}));
  EXPECT_EQ(x.unsqueeze(1).squeeze(1).shape(), (Shape{3, 4}));
  EXPECT_EQ(iota({2, 3, 4}).flatten(1).shape(), (Shape{2, 12}));
}

TEST_P(TensorTest, ReshapeCopiesOnlyWhenItMust) {
  const Tensor x = iota({3, 4});
  const Tensor t = x.transpose(0, 1);  // [4, 3], not viewable as [12]
  EXPECT_THROW(t.view({12}), Error);
  const Tensor r = t.reshape({12});
  EXPECT_NE(r.storage(), x.storage());
  EXPECT_TRUE(all_close(r, {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, 0, 0));
  // A narrowed row block stays viewable.
  const Tensor rows = iota({4, 6}).narrow(0, 1, 2);
  EXPECT_EQ(rows.view({3, 4}).storage(), rows.storage());
  EXPECT_TRUE(all_close(rows.view({12}), {6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}, 0, 0));
}

TEST_P(TensorTest, CopyFillAndCasts) {
  Tensor x = Tensor::zeros({2, 3}, dt(), dev());
  x.narrow(1, 1, 2).fill_(7);
  EXPECT_TRUE(all_close(x, {0, 7, 7, 0, 7, 7}, 0, 0));
  x.copy_(iota({3}));  // broadcast source
  EXPECT_TRUE(all_close(x, {0, 1, 2, 0, 1, 2}, 0, 0));
  x.transpose(0, 1).copy_(iota({3, 2}));  // strided destination
  EXPECT_TRUE(all_close(x, {0, 2, 4, 1, 3, 5}, 0, 0));
  const Tensor i = Tensor::from_vector<double>({-1.75, 0.5, 3.99}, {3}).to(dt()).to(dev()).to(DType::Int64);
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{-1, 0, 3}));  // C truncation
  // Out-of-range and NaN casts saturate (identically on both devices).
  const Tensor wide = Tensor::from_vector<double>({-5, 300, std::nan(""), 255.9}, {4}).to(dt()).to(dev());
  EXPECT_EQ(wide.to(DType::UInt8).to_vector<uint8_t>(), (std::vector<uint8_t>{0, 255, 0, 255}));
  EXPECT_EQ(Tensor::from_vector<double>({1e30, -1e30}, {2})
                .to(dt())
                .to(dev())
                .to(DType::Int64)
                .to_vector<int64_t>(),
            (std::vector<int64_t>{INT64_MAX, INT64_MIN}));
  const Tensor u = Tensor::from_vector<uint8_t>({0, 128, 255}, {3}, dev()).to(dt());
  EXPECT_TRUE(all_close(u, {0, 128, 255}, 0, 0));
  const Tensor bf =
      Tensor::from_vector<double>({1.0, 3.140625, -2.5e-3}, {3}).to(dt()).to(dev()).to(DType::BFloat16);
  // bf16 keeps 8 significant bits: 3.140625 is exact, -2.5e-3 rounds to -0.00250244140625.
  EXPECT_TRUE(all_close(bf.to(DType::Float64), {1.0, 3.140625, -0.00250244140625}, 0, 0));
  const Tensor c = x.clone();
  x.fill_(0);
  EXPECT_TRUE(all_close(c, {0, 2, 4, 1, 3, 5}, 0, 0));
}

TEST_P(TensorTest, DeviceRoundTrip) {
  const Tensor x = iota({5, 7}).transpose(0, 1);
  const Tensor back = x.to(Device::cpu()).to(dev()).to(Device::cpu());
  EXPECT_TRUE(all_close(back, x.contiguous().to(Device::cpu()), 0, 0));
}

INSTANTIATE_TEST_SUITE_P(AllDevices, TensorTest, ::testing::ValuesIn(testing::all_device_dtypes()),
                         testing::device_dtype_name);

TEST(Tensor, ErrorsNameTheProblem) {
  const Tensor x = Tensor::zeros({2, 3});
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([&] { x.view({4, 2}); }).find("invalid for 6 elements"), std::string::npos);
  EXPECT_NE(message([&] { x.size(2); }).find("out of range"), std::string::npos);
  EXPECT_NE(message([&] { x.narrow(1, 2, 2); }).find("out of bounds"), std::string::npos);
  EXPECT_NE(message([&] { x.expand({3, 3}); }).find("cannot expand"), std::string::npos);
  EXPECT_NE(message([&] { x.item<float>(); }).find("one element"), std::string::npos);
  EXPECT_NE(message([&] { Tensor::empty({-1}); }).find("negative size"), std::string::npos);
  // Empty, but its strides would overflow (found by fuzzing the IDX reader).
  EXPECT_NE(message([&] {
              Tensor::empty({0, int64_t(1) << 40, int64_t(1) << 40});
            }).find("overflows int64"),
            std::string::npos);
  EXPECT_NE(message([&] { x.data<double>(); }).find("accessed as float64"), std::string::npos);
  EXPECT_NE(message([&] { Device::parse("gpu"); }).find("expected cpu, cuda or cuda:N"), std::string::npos);
  EXPECT_NE(message([] { Tensor().shape(); }).find("undefined tensor"), std::string::npos);
}

TEST(Tensor, PrintsLikePyTorch) {
  const Tensor x = Tensor::from_vector<float>({1, 2.5f, -3, 4}, {2, 2});
  EXPECT_EQ(x.str(), "tensor([[1.0000, 2.5000],\n        [-3.0000, 4.0000]], shape=[2, 2], dtype=float32)");
  const Tensor big = Tensor::arange(100);
  EXPECT_EQ(big.str(), "tensor([0, 1, 2, ..., 97, 98, 99], shape=[100], dtype=int64)");
}

TEST(Device, ParseAndPrint) {
  EXPECT_EQ(Device::parse("cpu"), Device::cpu());
  EXPECT_EQ(Device::parse("cuda"), Device::cuda(0));
  EXPECT_EQ(Device::parse("cuda:3"), Device::cuda(3));
  EXPECT_EQ(Device::cuda(1).str(), "cuda:1");
  EXPECT_THROW(Device::parse("cuda:"), Error);
  EXPECT_THROW(Device::parse("cuda:-1"), Error);
}

}  // namespace
}  // namespace kiln
