namespace NeuralCore.Tests;

/// <summary>
/// The calling thread's allocation count (<see cref="GC.GetAllocatedBytesForCurrentThread"/>) as a baseline that a
/// garbage collection inside the measured stretch cannot move.
/// </summary>
/// <remarks>
/// A collection retires every thread's allocation context, and the count of a thread whose context still had room can
/// then grow by part of that room (under the 8 KB allocation quantum) although the thread allocated nothing: a gen0
/// collection started on another thread moved an idle thread's count by 1,888 bytes, and a two-thread Lamb step read
/// 480 to 7,848 bytes in about 1 of 60 runs under CPU load (where a background collection more often overlaps the
/// steps), and none of 400 with a collection first. That fits the one-offs of 1,248 to 4,088 bytes that CI runs once
/// read in zero-allocation windows. Collecting first leaves the thread without a context, so a later collection has
/// nothing of its own to retire while the code measured allocates nothing; an allocation in the stretch still counts.
/// </remarks>
internal static class AllocationBaseline
{
    /// <summary>Collects, then reads this thread's allocated bytes; subtract it from a plain read after the stretch.</summary>
    public static long Read()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetAllocatedBytesForCurrentThread();
    }
}
