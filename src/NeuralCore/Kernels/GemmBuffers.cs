using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NeuralCore.Kernels;

/// <summary>Per-thread packing buffers, pinned and 64-byte aligned; they grow once and are then reused.</summary>
internal static unsafe class GemmBuffers
{
    private const int AlignFloats = 16;

    [ThreadStatic]
    private static float[]? t_a;

    [ThreadStatic]
    private static float[]? t_b;

    [ThreadStatic]
    private static float[]? t_tile;

    [ThreadStatic]
    private static float[]? t_partials;

    [ThreadStatic]
    private static float[]? t_productFactor;

    [ThreadStatic]
    private static int[]? t_steps;

    // What t_steps holds: the key its last filler gave (StepListsFor), 0 for lists that are not kept.
    [ThreadStatic]
    private static long t_stepsKey;

    // The largest size any thread running items of a run (WorkerPool.InRun) has asked of each buffer that items use,
    // and which buffers such threads have made: every pool worker grows its own to these between runs (Reserve), so that a thread which runs another's item for the
    // first time (its owner late: a worker that slept through the warm-up steps under load, then woke for a measured
    // one) finds its buffers made. Made on first use instead, such a step allocated 368 KB on the worker (784-128-10,
    // batch 32, two threads, both cores busy with another process: 5 of 10 runs of the allocation test). The partial
    // sums are not among them: only the thread that starts a product asks for them, before its run.
    private static long s_highA, s_highSteps;

    /// <summary>The largest packed A any item of a run has asked for (tests ask for more, to see a reserve happen).</summary>
    internal static long HighWaterA => Volatile.Read(ref s_highA);
    private static int s_made; // MadeB | MadeTile | MadeProductFactor
    private const int MadeB = 1, MadeTile = 2, MadeProductFactor = 4;

    // WorkerPool calls Reserve on each of its threads after a run when a size above has grown since that thread's last
    // Reserve; handed over with each growth because the pool (Threading) does not know the kernels that run on it.
    private static readonly Action s_reserve = Reserve;

    /// <summary>A scratch tile for ragged edges, as large as the largest micro-tile.</summary>
    public static float* Tile => Aligned(t_tile is { } tile && (Volatile.Read(ref s_made) & MadeTile) != 0
        ? tile
        : Made(ref t_tile, GemmPlan.MaxMr * GemmPlan.MaxNr, MadeTile));

    /// <summary>The calling thread's buffer for packed rows of A, grown (never shrunk) to <paramref name="length"/> floats.</summary>
    /// <exception cref="InsufficientMemoryException">A is larger than one array can hold.</exception>
    public static float* A(long length) => Grown(ref t_a, length, ref s_highA, "Packing A");

    private static float* Grown(ref float[]? buffer, long length, string what)
    {
        if (buffer is null || buffer.Length - AlignFloats < length)
        {
            buffer = Allocate(length, what);
        }

        return Aligned(buffer);
    }

    private static float* Grown(ref float[]? buffer, long length, ref long high, string what)
    {
        if (buffer is null || buffer.Length - AlignFloats < length)
        {
            // At least the largest any thread asked for, which Reserve would otherwise grow it to again.
            buffer = Allocate(Math.Max(length, Volatile.Read(ref high)), what);
        }

        // Raised whether or not this thread had to grow: a caller whose serial products grew its buffers first asks
        // the same sizes in its runs, and the workers need them as much.
        if (length > Volatile.Read(ref high))
        {
            Raise(ref high, length);
        }

        return Aligned(buffer);
    }

    // A fixed-size buffer of this thread (made here when it has none), marked as one the workers need once an item of a
    // run asks for it.
    private static float[] Made(ref float[]? buffer, int length, int flag)
    {
        buffer ??= Allocate(length);
        if (Threading.WorkerPool.InRun && (Volatile.Read(ref s_made) & flag) == 0)
        {
            _ = Interlocked.Or(ref s_made, flag);
            Threading.WorkerPool.ReserveGrew(s_reserve);
        }

        return buffer;
    }

    // Records a larger request made by an item of a run, and tells the pool its workers are behind.
    private static void Raise(ref long high, long length)
    {
        if (!Threading.WorkerPool.InRun)
        {
            return;
        }

        long seen = Volatile.Read(ref high);
        while (length > seen)
        {
            long found = Interlocked.CompareExchange(ref high, length, seen);
            if (found == seen)
            {
                Threading.WorkerPool.ReserveGrew(s_reserve);
                return;
            }

            seen = found;
        }
    }

    /// <summary>
    /// Grows the calling thread's buffers to the largest sizes any thread has asked for, and makes the fixed-size ones
    /// any thread has made; nothing is allocated when they are already that large. The contents are not kept, and a
    /// replaced buffer is left to the collector: call it only where no pointer into this thread's buffers is held (a
    /// pool worker between runs).
    /// </summary>
    internal static void Reserve()
    {
        int made = Volatile.Read(ref s_made);
        if ((made & MadeB) != 0 && t_b is null)
        {
            t_b = Allocate(GemmPlan.KcMax * GemmPlan.NcMax);
        }

        if ((made & MadeTile) != 0 && t_tile is null)
        {
            t_tile = Allocate(GemmPlan.MaxMr * GemmPlan.MaxNr);
        }

        if ((made & MadeProductFactor) != 0 && t_productFactor is null)
        {
            t_productFactor = Allocate(GemmMaskedProduct.MaxRank * GemmPlan.NcMax);
        }

        long a = Volatile.Read(ref s_highA), steps = Volatile.Read(ref s_highSteps);
        if (a > 0 && (t_a is null || t_a.Length - AlignFloats < a))
        {
            t_a = Allocate(a, "Packing A");
        }

        if (steps > 0 && (t_steps is null || t_steps.Length < steps))
        {
            t_steps = GC.AllocateUninitializedArray<int>(CheckedLength(steps, "The step lists of a sparse product"), pinned: true);
            t_stepsKey = 0;
        }
    }

    /// <summary>The calling thread's buffer for the partial sums of a product whose k blocks are split among threads.</summary>
    /// <exception cref="InsufficientMemoryException">The partial sums are larger than one array can hold.</exception>
    public static float* Partials(long length) => Grown(ref t_partials, length, "The partial sums of a split product");

    /// <summary>
    /// The calling thread's buffer for <paramref name="lists"/> step lists of a sparse A (<see cref="GemmSteps"/>),
    /// <paramref name="length"/> ints apart, then the <see cref="GemmSteps.ListSlack"/> ints the last list's whole-vector
    /// stores may write past its end, then <paramref name="lists"/> counts (<paramref name="counts"/>) and
    /// <paramref name="scratchBytes"/> bytes of scratch (<paramref name="scratch"/>); grown (never shrunk), pinned.
    /// Lists filled in order may each write into the next one's start, which that list then overwrites.
    /// </summary>
    /// <exception cref="InsufficientMemoryException">The lists are larger than one array can hold.</exception>
    public static int* StepLists(long lists, int length, out int* counts, out byte* scratch, long scratchBytes = 0)
    {
        t_stepsKey = 0;
        long listInts = (lists * length) + GemmSteps.ListSlack;
        long total = listInts + lists + ((scratchBytes + 3) / 4);
        if (t_steps is null || t_steps.Length < total)
        {
            t_steps = GC.AllocateUninitializedArray<int>(CheckedLength(Math.Max(total, Volatile.Read(ref s_highSteps)), "The step lists of a sparse product"), pinned: true);
        }

        if (total > Volatile.Read(ref s_highSteps))
        {
            Raise(ref s_highSteps, total);
        }

        int* start = (int*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(t_steps));
        counts = start + listInts;
        scratch = (byte*)(counts + lists);
        return start;
    }

    /// <summary>
    /// <see cref="StepLists"/> for lists that stay valid under <paramref name="key"/> (never 0): true in
    /// <paramref name="kept"/> when this thread's buffer still holds the lists its last call with the same key filled,
    /// which no other call has overwritten since.
    /// </summary>
    public static int* StepListsFor(long key, long lists, int length, out int* counts, out byte* scratch, long scratchBytes, out bool kept)
    {
        kept = key != 0 && key == t_stepsKey;
        int* start = StepLists(lists, length, out counts, out scratch, scratchBytes);
        t_stepsKey = key;
        return start;
    }

    /// <summary>Scratch for one chunk's transposed right factor of a <see cref="GemmMaskedProduct"/>.</summary>
    public static float* ProductFactor => Aligned(t_productFactor is { } factor && (Volatile.Read(ref s_made) & MadeProductFactor) != 0
        ? factor
        : Made(ref t_productFactor, GemmMaskedProduct.MaxRank * GemmPlan.NcMax, MadeProductFactor));

    /// <summary>The calling thread's buffer for one packed chunk of B (kc x nc).</summary>
    public static float* B => Aligned(t_b is { } b && (Volatile.Read(ref s_made) & MadeB) != 0
        ? b
        : Made(ref t_b, GemmPlan.KcMax * GemmPlan.NcMax, MadeB));

    private static float[] Allocate(int length) =>
        GC.AllocateUninitializedArray<float>(length + AlignFloats, pinned: true);

    /// <summary>A pinned array for <paramref name="length"/> floats from a 64-byte boundary (see <see cref="Aligned"/>).</summary>
    /// <exception cref="InsufficientMemoryException">The floats are more than one array can hold.</exception>
    internal static float[] Allocate(long length, string what) => Allocate(CheckedLength(length, what));

    // The length plus the alignment slack as one array's, or the exception that says what did not fit.
    private static int CheckedLength(long length, string what) => length <= Array.MaxLength - AlignFloats
        ? (int)length
        : throw new InsufficientMemoryException($"{what} needs {length} floats, more than one array holds ({Array.MaxLength - AlignFloats}).");

    /// <summary>
    /// A zeroed pinned array for <paramref name="length"/> floats and the index of its first element on a 64-byte
    /// boundary, from which the floats are to be used.
    /// </summary>
    /// <exception cref="InsufficientMemoryException">The floats are more than one array can hold.</exception>
    internal static (float[] Array, int Start) AllocateAlignedZeroed(long length, string what)
    {
        float[] array = GC.AllocateArray<float>(CheckedLength(length, what) + AlignFloats, pinned: true);
        var start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        return (array, (int)((Aligned(array) - (float*)start)));
    }

    /// <summary>The first 64-byte boundary inside an array from <see cref="Allocate(long, string)"/>.</summary>
    internal static float* Aligned(float[] array)
    {
        // The array lives on the pinned object heap, so its address is stable.
        var start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        return (float*)((start + 63) & ~(nint)63);
    }
}
