#pragma once

// Key encoding of the RocksDB store: every column family's key layout and value type. Pure
// functions over bytes; thread-safe. The families are declared (name, tuning, purpose) and opened
// from one table, storage/db_core.cc's kFamilies; the component that writes each is named after
// it (docs/architecture.md "Storage").
//
// Notation: be64(x) is x as 8 bytes big-endian (byte order is numeric order); BiasedTime(t) is
// t + 2^62 (below), so that negative Unix times sort below positive ones; '\0' is one zero byte.
// Values are serialized protos (fixmine.v1) unless noted.
//
//   default (meta)      RecordStore, BugLinks
//     "schema_version" -> kSchemaVersion as decimal text
//     "dedup_layout" -> "2" once the dedup family covers every record (kDedupLayoutKey)
//     "dedup_threshold" -> the near-duplicate threshold (decimal text) the near groups were
//         made at (kDedupThresholdKey)
//     "bug_link/" repo '\0' bug-introducing commit hex '\0' fix commit hex -> ""  (BugLinkKey)
//   records             RecordIndex
//     repo '\0' be64(UINT64_MAX - BiasedTime(committer time)) commit bytes -> Record
//         (PrimaryKey: one repository is one prefix, newest committer time first)
//   ids                 RecordIndex
//     record id -> primary key (raw bytes)
//   lang_index          RecordIndex
//     language '\0' primary key -> ""  (one per distinct non-empty file language; LangKey)
//   time_index          RecordIndex
//     be64(BiasedTime(committer time)) primary key -> ""  (oldest first; TimeKey)
//   repos               RecordStore
//     name -> Repository (record_count not stored; it comes from counters)
//   jobs                RecordStore
//     job id -> Job
//   counters            RecordIndex
//     "total" | "repo\0" name -> le64 count (EncodeCounter), updated with an add merge operator
//   fingerprints        (no longer written; stores of earlier builds may hold fingerprint -> id,
//                       which the dedup rebuild at open deletes)
//   lsh_bands           DedupIndex
//     'b' band(1 byte) be64(band hash) record id -> ""  (MinHash LSH buckets; LshBucketKey), for
//         exact-canonical records with a signature only (curation/canonical.h)
//     's' record id -> signature as le32 values (no longer written; read by the dedup rebuild)
//   dedup               DedupIndex (curation/canonical.h, docs/storage.md "Dedup groups")
//     'm' record id -> Record holding only id, commit, author.time, patch_fingerprint, minhash
//         and the three dedup labels (every record has one)
//     'f' fingerprint '\0' record id -> ""   (members by patch_fingerprint)
//     'c' commit hex '\0' record id -> ""    (members by commit id)
//     'n' near canonical id '\0' record id -> ""  (near_duplicate_of, reversed)
//   benchmarks          RecordStore
//     name -> Benchmark (items' text included, so the n-gram index is rebuilt at start)
//   trajectories        TrajectoryStore
//     't' repo '\0' be64(UINT64_MAX - BiasedTime(merge committer time)) trajectory id ->
//         Trajectory (TrajectoryKey: one repository is one prefix, newest merge first, then id)
//     'i' trajectory id -> the 't' key (TrajectoryIdKey)
//   github              GithubStore (docs/github.md); every key starts with the repository's
//                       name and '\0' (RepoPrefix), so removing it deletes one range:
//     repo '\0' 'c' be64(issue number) be64(comment id) -> IssueComment
//     repo '\0' 'e' API URL -> ETag '\n' next-page URL (text; conditional requests)
//     repo '\0' 'i' be64(issue number) -> Issue
//     repo '\0' 'n' be64(pull number) -> Instance
//     repo '\0' 'p' be64(pull number) -> PullRequest
//     repo '\0' 's' -> GithubSyncState (where an interrupted sync resumes)
//
// Removing a repository (RecordStore::RemoveRepository) deletes, in ONE batch, its records and
// their ids, lang_index and time_index entries, its counter (and subtracts from "total"), its
// dedup members (relabelling the remaining members of their groups), its bug links, its
// trajectories (both key spaces), its github range and its repos entry.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "fixmine/v1/records.pb.h"

namespace fixmine::storage::keys {

// Column family names.
inline constexpr char kMetaCf[] = "default";
inline constexpr char kRecordsCf[] = "records";
inline constexpr char kIdsCf[] = "ids";
inline constexpr char kLangIndexCf[] = "lang_index";
inline constexpr char kTimeIndexCf[] = "time_index";
inline constexpr char kReposCf[] = "repos";
inline constexpr char kJobsCf[] = "jobs";
inline constexpr char kCountersCf[] = "counters";
inline constexpr char kFingerprintsCf[] = "fingerprints";
inline constexpr char kLshBandsCf[] = "lsh_bands";
inline constexpr char kBenchmarksCf[] = "benchmarks";
inline constexpr char kDedupCf[] = "dedup";
inline constexpr char kTrajectoriesCf[] = "trajectories";
inline constexpr char kGithubCf[] = "github";

// Meta key whose value kDedupLayout says the dedup family covers every record (a store of an
// earlier build is rebuilt once at open, docs/storage.md).
inline constexpr char kDedupLayoutKey[] = "dedup_layout";
inline constexpr char kDedupLayout[] = "2";
// Meta key holding the near-duplicate threshold (decimal text) the stored near groups were made
// with; another threshold at open relabels the store.
inline constexpr char kDedupThresholdKey[] = "dedup_threshold";

// MinHash LSH layout: signatures of kLshBands * kLshRows values; two records whose signatures
// agree on every row of one band share that band's bucket.
inline constexpr int kLshBands = 16;
inline constexpr int kLshRows = 4;

// The schema version this build reads and writes, stored in the meta column family under
// kSchemaVersionKey as decimal text.
inline constexpr int kSchemaVersion = 1;
inline constexpr char kSchemaVersionKey[] = "schema_version";

// Counter keys (counters column family): the total and one per repository.
inline constexpr char kTotalCounterKey[] = "total";
std::string RepoCounterKey(std::string_view repo);

// Bug-fix links (SZZ), in the meta column family: BugLinkKey = "bug_link/" + repo + '\0' +
// bug-introducing commit (hex) + '\0' + fix commit (hex), empty value. Written with every fix
// record that names bug-introducing commits; read when the bug-introducing record is written
// (docs/storage.md).
std::string BugLinkRepoPrefix(std::string_view repo);
std::string BugLinkPrefix(std::string_view repo, std::string_view bug_commit);
std::string BugLinkKey(std::string_view repo, std::string_view bug_commit,
                       std::string_view fix_commit);

// Appends `v` as 8 bytes big-endian (so byte order is numeric order).
void AppendBigEndian64(std::string* out, uint64_t v);
// Reads 8 bytes big-endian from the start of `in` (which must hold at least 8 bytes).
uint64_t ReadBigEndian64(std::string_view in);

// Counter values: 8 bytes little-endian two's complement. Decode fails (nullopt) on any other
// size.
std::string EncodeCounter(int64_t v);
std::optional<int64_t> DecodeCounter(std::string_view in);

// `time + 2^62` as an unsigned number, clamped at 0 for times before -2^62, so that every
// realistic signed time orders correctly as an unsigned big-endian key.
uint64_t BiasedTime(int64_t time);

// `repo` + '\0': the prefix of every primary key of that repository.
std::string RepoPrefix(std::string_view repo);

// The primary key of a record: repo + '\0' + big-endian (UINT64_MAX - BiasedTime(committer
// time)) (newest first) + the raw bytes of the hex commit id (20 for SHA-1). INVALID_ARGUMENT
// for an empty repository name or one containing '\0', or a commit that is not even-length hex.
absl::StatusOr<std::string> PrimaryKey(const fixmine::v1::Record& record);
// The primary key prefix of a repository's records committed at `time` (no commit id).
std::string PrimaryTimePrefix(std::string_view repo, int64_t time);

// Length of the repository-name part of a primary key (up to, not including, the '\0');
// nullopt for a malformed key.
std::optional<size_t> PrimaryRepoLength(std::string_view primary_key);
// The biased (oldest-first) time of a primary key; nullopt for a malformed key.
std::optional<uint64_t> PrimaryBiasedTime(std::string_view primary_key);

// lang_index key: language + '\0' + primary key.
std::string LangPrefix(std::string_view language);
std::string LangKey(std::string_view language, std::string_view primary_key);
// time_index key: big-endian BiasedTime (oldest first) + primary key.
std::string TimeKey(uint64_t biased_time, std::string_view primary_key);

// The primary key an index entry points to: what follows the language prefix of a lang_index
// key or the 8 time bytes of a time_index key. Empty for a malformed key.
std::string_view PrimaryFromLangKey(std::string_view lang_key);
std::string_view PrimaryFromTimeKey(std::string_view time_key);

// The smallest key greater than every key starting with `prefix`; empty when there is none
// (`prefix` is all 0xff bytes or empty).
std::string PrefixSuccessor(std::string_view prefix);

// The bucket prefixes ('b' band be64(hash of the band's values)) of a MinHash signature, one
// per band; empty unless `signature` has kLshBands * kLshRows values.
std::vector<std::string> LshBucketPrefixes(
    const google::protobuf::RepeatedField<uint32_t>& signature);
// The bucket entry of record `id`: prefix + id.
std::string LshBucketKey(std::string_view prefix, std::string_view id);
// The key of record `id`'s signature: 's' + id.
std::string LshSignatureKey(std::string_view id);
// Signature values as little-endian 32-bit numbers, and back (nullopt for a size not a multiple
// of 4).
std::string EncodeSignature(const google::protobuf::RepeatedField<uint32_t>& signature);
std::optional<std::vector<uint32_t>> DecodeSignature(std::string_view in);

// dedup family keys: 'm' + id; and the prefixes 'f' fingerprint '\0', 'c' commit '\0' and
// 'n' canonical id '\0', each followed by a member's record id. Callers keep '\0' out of the
// values (a fingerprint or commit holding one is never indexed).
std::string DedupMemberKey(std::string_view id);
std::string DedupFingerprintPrefix(std::string_view fingerprint);
std::string DedupCommitPrefix(std::string_view commit);
std::string DedupNearPrefix(std::string_view canonical_id);

// trajectories family: the prefix 't' repo '\0' of a repository's trajectories, a trajectory's
// primary key (that prefix, be64(UINT64_MAX - BiasedTime(merge_time)), id) and its id entry
// 'i' id.
std::string TrajectoryRepoPrefix(std::string_view repo);
std::string TrajectoryKey(std::string_view repo, int64_t merge_time, std::string_view id);
std::string TrajectoryIdKey(std::string_view id);

// Decodes lowercase or uppercase hex; nullopt for odd length or a non-hex character.
std::optional<std::string> HexToBytes(std::string_view hex);

}  // namespace fixmine::storage::keys
