// Curation fields and presets of the filter language (docs/filters.md, docs/curation.md).
#include <gtest/gtest.h>

#include <string>

#include "fixmine/v1/records.pb.h"
#include "storage/filter.h"

namespace fixmine::storage {
namespace {

using fixmine::v1::Record;

Record Labelled() {
  Record r;
  r.set_repo("acme/widgets");
  r.set_message_language("zh");
  r.set_license("MIT");
  r.set_secrets_found(true);
  auto* f = r.add_files();
  f->set_path("package-lock.json");
  f->set_lockfile(true);
  f->set_generated(true);
  auto* d = r.add_files();
  d->set_path("docs/x.md");
  d->set_documentation(true);
  r.mutable_quality()->add_drop_reasons("commitpackft:not_single_file");
  return r;
}

bool Match(const std::string& text, const Record& r, const std::string& preset = "") {
  auto f = Filter::ParseWithPreset(text, preset);
  EXPECT_TRUE(f.ok()) << text << ": " << f.status();
  return f.ok() && (*f)->Matches(r);
}

TEST(FilterCurationTest, NewFields) {
  Record r = Labelled();
  EXPECT_TRUE(Match("lockfile", r));
  EXPECT_TRUE(Match("documentation", r));
  EXPECT_TRUE(Match("secrets_found", r));
  EXPECT_TRUE(Match("message_language = zh", r));
  EXPECT_FALSE(Match("message_language = ZH", r));
  EXPECT_TRUE(Match("message_language:ZH", r));
  EXPECT_TRUE(Match("message_language != de", r));
  EXPECT_TRUE(Match("license = MIT", r));
  EXPECT_TRUE(Match("drop = commitpackft", r));
  EXPECT_TRUE(Match("drop = \"commitpackft:not_single_file\"", r));
  EXPECT_FALSE(Match("drop = commitpack", r));
  EXPECT_FALSE(Match("drop = default", r));
  EXPECT_TRUE(Match("drop:single", r));
  Record clean;
  // Issue 20: changed functions and the license's unsure marker.
  r.mutable_files(0)->add_functions_changed("Widget::grow");
  r.set_license_unsure(true);
  EXPECT_TRUE(Match("function = \"Widget::grow\"", r));
  EXPECT_FALSE(Match("function = grow", r));
  EXPECT_TRUE(Match("function:GROW", r));
  EXPECT_FALSE(Match("function:shrink", r));
  EXPECT_TRUE(Match("license_unsure", r));
  EXPECT_FALSE(Match("function:grow", clean));
  EXPECT_FALSE(Match("license_unsure", clean));
  EXPECT_FALSE(Match("lockfile", clean));
  EXPECT_TRUE(Match("message_language = \"\"", clean));
  EXPECT_FALSE(Match("drop = commitpackft", clean));
}

TEST(FilterCurationTest, PresetsCombineWithTheFilterByAnd) {
  Record dropped = Labelled();
  Record kept = Labelled();
  kept.mutable_quality()->clear_drop_reasons();
  EXPECT_FALSE(Match("", dropped, "commitpackft"));
  EXPECT_TRUE(Match("", dropped, "default"));
  EXPECT_TRUE(Match("", kept, "commitpackft"));
  EXPECT_TRUE(Match("repo = \"acme/widgets\"", kept, "commitpackft"));
  EXPECT_FALSE(Match("repo = other", kept, "commitpackft"));
  EXPECT_FALSE(Match("lockfile OR is_bot", dropped, "commitpackft"));
  // `a OR b` stays one term: the preset is ANDed with the whole filter.
  EXPECT_TRUE(Match("is_bot OR lockfile", kept, "commitpackft"));
}

TEST(FilterCurationTest, PresetChangesCanonicalTextAndKeepsHints) {
  auto plain = Filter::ParseWithPreset("repo = x lang = Go", "");
  auto preset = Filter::ParseWithPreset("repo = x lang = Go", "commitpackft");
  ASSERT_TRUE(plain.ok() && preset.ok());
  EXPECT_NE((*plain)->canonical(), (*preset)->canonical());
  EXPECT_EQ((*preset)->hints().repo, "x");
  EXPECT_EQ((*preset)->hints().language, "Go");
  auto other = Filter::ParseWithPreset("repo = x lang = Go", "default");
  ASSERT_TRUE(other.ok());
  EXPECT_NE((*other)->canonical(), (*preset)->canonical());
}

TEST(FilterCurationTest, UnknownPresetNamesTheKnownOnes) {
  auto f = Filter::ParseWithPreset("", "nope");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(f.status().message().find("default, commitpackft"), std::string::npos) << f.status();
  EXPECT_EQ(Filter::PresetNames(), (std::vector<std::string>{"default", "commitpackft"}));
}

}  // namespace
}  // namespace fixmine::storage
