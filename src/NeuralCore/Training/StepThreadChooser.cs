namespace NeuralCore.Training;

/// <summary>
/// Chooses the threads of <c>Fit</c>'s steps by timing them: blocks of steps on the threads the step's size asks for
/// (<see cref="Models.Sequential.StepThreads"/>) and on one thread, then a stretch of steps on whichever took less
/// time a step (the mean of the timed steps but the longest, which may hold a pause of the host's), and again. A
/// step's results are the same bits on any number of threads, so the choice changes the time only.
/// </summary>
/// <remarks>
/// The size rule alone cannot know where the host puts the two vCPUs. On an AMD EPYC Zen 5 with 2 real cores, with the
/// vCPUs far apart (a cache line's round trip 400-460 ns against about 90 ns close), 784-128-10 at batch 32 trained
/// 0.93x as fast per epoch on two threads as on one, and at batch 128 0.95x (compare.md, run aj), where with the
/// vCPUs close two threads were 1.4-1.6x faster; and a host that slows one vCPU makes every two-thread step wait for
/// it (a busy loop pinned to one: 784-1024-10 at batch 128 took 1.09-1.14 s an epoch on two threads, 0.63-0.66 on
/// one). A block on the slower choice costs its extra time once per stretch; the stretch doubles while the two differ
/// by more than <see cref="SteadyGap"/> and is long at once where all the threads are ahead by <see cref="WideGap"/> or
/// more (longer still the further ahead they are), so where they are far ahead (784-1024-10 on two threads, or many
/// threads) one-thread blocks are a few tenths of a percent of the time. One chooser serves every <c>Fit</c> of a
/// model (<see cref="Begin"/>).
/// </remarks>
internal sealed class StepThreadChooser
{
    /// <summary>Steps run on a candidate, per block.</summary>
    internal const int Block = 8;

    /// <summary>Steps at the start of a block that are run but not timed: the first ones after a switch move the data
    /// between the cores' caches.</summary>
    internal const int Settle = 2;

    /// <summary>The stretch after a round where the two candidates differ by less than <see cref="SteadyGap"/>.</summary>
    internal const int FirstStretch = 200;

    /// <summary>The longest stretch on the threads the size asks for, where they are less than twice as fast as one.</summary>
    internal const int MaxStretch = 3200;

    /// <summary>The longest stretch on one thread: a round misled by the host costs two-thread steps at most this many
    /// steps at up to half their speed, where a wrong stretch the other way costs what two threads lose, far less.</summary>
    internal const int MaxOneStretch = 800;

    /// <summary>The relative difference of the two times above which the stretch doubles.</summary>
    internal const double SteadyGap = 0.15;

    /// <summary>The relative difference at or above which the stretch on all threads is <see cref="MaxStretch"/> at once,
    /// times the difference where it exceeds 1 (all threads more than twice as fast), up to <see cref="MaxWideStretch"/>.</summary>
    internal const double WideGap = 0.5;

    /// <summary>The longest stretch of all: sixteen threads ten times as fast as one spend 8 × 9 step-equivalents in a
    /// round's one-thread block, 0.25% of this many steps.</summary>
    internal const int MaxWideStretch = 16 * MaxStretch;

    // A round: a block on the side chosen so far (all the threads at first), a block on the other, a block on the
    // chosen side again (so that a drift of the host's speed within a round weighs on both sides, and the side that
    // lost the last round runs one block, not two), then the decision. The first round's decision is dropped: its
    // steps are the training's first, which compile code and allocate the threads' buffers.
    private enum Phase
    {
        TimeChosen,
        TimeOther,
        TimeChosenAgain,
        Run,
    }

    private const int Timed = Block - Settle;

    private readonly long[] _all = new long[2 * Timed];
    private readonly long[] _one = new long[2 * Timed];
    private int _allCount;
    private int _oneCount;
    private Phase _phase;
    private int _steps;
    private int _rounds;
    private int _decisions;
    private int _stretch = FirstStretch;
    private bool _chooseOne;
    private int _lastAll;
    private int _batch;

    /// <summary>Whether the last decision chose one thread (tests).</summary>
    internal bool ChoseOne => _chooseOne;

    /// <summary>The steps of the current stretch (tests).</summary>
    internal int Stretch => _stretch;

    /// <summary>The rounds decided, the dropped first one included, since the last start afresh (tests).</summary>
    internal int Rounds => _rounds;

    /// <summary>The decisions taken since the last start afresh (tests).</summary>
    internal int Decisions => _decisions;

    /// <summary>The times a step of the last round decided, all threads and one (tests).</summary>
    internal (long All, long One) LastTimes { get; private set; }

    /// <summary>The steps this chooser has put on one thread where their size asked for more (tests).</summary>
    internal long OneThreadSteps { get; private set; }

    /// <summary>
    /// Starts a training call of batches of <paramref name="batchSize"/>: the choice so far carries over from the last
    /// call with the same batch size (a loop of one-epoch <c>Fit</c> calls does not pay for a new first round each
    /// time); another batch size starts afresh, since its steps take other times.
    /// </summary>
    public void Begin(int batchSize)
    {
        if (batchSize != _batch)
        {
            Reset();
            _batch = batchSize;
        }
    }

    // Back to a first round, dropped like the training's first: the steps to come are not the ones timed so far.
    private void Reset()
    {
        (_phase, _steps, _rounds, _decisions, _stretch, _chooseOne) = (Phase.TimeChosen, 0, 0, 0, FirstStretch, false);
        (_allCount, _oneCount) = (0, 0);
    }

    /// <summary>
    /// The threads for the next step, given <paramref name="all"/>, the threads its size asks for. A step that is not
    /// <paramref name="timed"/> (a short last batch) runs on the current choice and does not count.
    /// </summary>
    public int Threads(int all, bool timed)
    {
        if (all <= 1)
        {
            return 1;
        }

        if (timed && all != _lastAll)
        {
            // The thread limit changed (a callback set Parallelism.DegreeOfParallelism, or this is the first step): what
            // was timed was another step; the first steps on more threads also allocate their buffers.
            Reset();
            _lastAll = all;
        }

        // A timed step of the middle block runs on the side not chosen; every other step on the chosen side.
        bool one = _phase == Phase.TimeOther && timed ? !_chooseOne : _chooseOne;
        if (one)
        {
            OneThreadSteps++;
        }

        return one ? 1 : all;
    }

    /// <summary>
    /// Records the duration of a step run on <see cref="Threads"/>'s answer, in any unit; <paramref name="all"/> and
    /// <paramref name="timed"/> as given there.
    /// </summary>
    public void Record(long ticks, int all, bool timed)
    {
        if (all <= 1 || !timed)
        {
            return;
        }

        int step = _steps++;
        if (_phase == Phase.Run)
        {
            if (_steps >= _stretch)
            {
                (_steps, _phase) = (0, Phase.TimeChosen);
            }

            return;
        }

        if (step >= Settle)
        {
            bool onOne = _phase == Phase.TimeOther ? !_chooseOne : _chooseOne;
            if (onOne)
            {
                _one[_oneCount++] = ticks;
            }
            else
            {
                _all[_allCount++] = ticks;
            }
        }

        if (_steps < Block)
        {
            return;
        }

        _steps = 0;
        if (_phase != Phase.TimeChosenAgain)
        {
            _phase++;
            return;
        }

        ReadOnlySpan<long> allTimes = _all.AsSpan(0, _allCount), oneTimes = _one.AsSpan(0, _oneCount);
        (_allCount, _oneCount) = (0, 0);
        if (_rounds++ == 0)
        {
            // The training's first steps: measure again at once.
            _phase = Phase.TimeChosen;
            return;
        }

        LastTimes = (MeanButLongest(allTimes), MeanButLongest(oneTimes));
        Decide(LastTimes.All, LastTimes.One);
        _phase = Phase.Run;
    }

    private void Decide(long all, long one)
    {
        _chooseOne = one < all;
        double gap = (double)Math.Abs(all - one) / Math.Max(1, Math.Min(all, one));
        if (_decisions++ == 0)
        {
            // The first decision may still be swayed by the runtime compiling in the background on one of the cores:
            // it holds for the shortest stretch whatever the gap.
            _stretch = FirstStretch;
        }
        else if (_chooseOne)
        {
            _stretch = gap >= WideGap ? MaxOneStretch : gap > SteadyGap ? Math.Min(_stretch * 2, MaxOneStretch) : FirstStretch;
        }
        else if (gap >= WideGap)
        {
            // A block on one thread costs (one / all - 1) steps of all threads a step: on many threads far ahead the
            // stretch grows with that ratio, so that the one-thread blocks stay a few tenths of a percent of the time.
            _stretch = (int)Math.Min(MaxStretch * Math.Max(1.0, gap), MaxWideStretch);
        }
        else
        {
            _stretch = gap > SteadyGap ? Math.Min(_stretch * 2, MaxStretch) : FirstStretch;
        }
    }

    // The mean of the values but the largest. Not the median: a host that runs another task on one of the two vCPUs for
    // a few milliseconds at a time (a busy loop pinned to one, 784-1024-10 at batch 128, AMD EPYC Zen 5) slows every
    // other two-thread step or so, and the median of a block missed that in one of three trainings.
    private static long MeanButLongest(ReadOnlySpan<long> values)
    {
        long sum = 0, longest = long.MinValue;
        foreach (long v in values)
        {
            sum += v;
            longest = Math.Max(longest, v);
        }

        return (sum - longest) / (values.Length - 1);
    }
}
