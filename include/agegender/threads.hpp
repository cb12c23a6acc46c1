#pragma once
namespace agegender {
/// 0 = all hardware threads; negative is a usage error (throws UsageError).
int resolve_threads(int requested);
}  // namespace agegender
