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
/// by more than <see cref="TimedChoice.SteadyGap"/> and is long at once where all the threads are ahead by <see cref="WideGap"/> or
/// more (longer still the further ahead they are), so where they are far ahead (784-1024-10 on two threads, or many
/// threads) one-thread blocks are a few tenths of a percent of the time. One chooser serves every <c>Fit</c> of a
/// model (<see cref="Begin"/>). For steps on several threads it also chooses how the batch gather stores the batch
/// (<see cref="GatherStores"/>), in rounds of its own over the steps of its stretches on all the threads.
/// </remarks>
internal sealed class StepThreadChooser : TimedChoice
{
    /// <summary>The longest stretch on the threads the size asks for, where they are less than twice as fast as one.</summary>
    internal const int MaxStretch = 3200;

    /// <summary>The longest stretch on one thread: a round misled by the host costs two-thread steps at most this many
    /// steps at up to half their speed, where a wrong stretch the other way costs what two threads lose, far less.</summary>
    internal const int MaxOneStretch = 800;

    /// <summary>The relative difference at or above which the stretch on all threads is <see cref="MaxStretch"/> at once,
    /// times the difference where it exceeds 1 (all threads more than twice as fast), up to <see cref="MaxWideStretch"/>.</summary>
    internal const double WideGap = 0.5;

    /// <summary>The longest stretch of all: sixteen threads ten times as fast as one spend 8 × 9 step-equivalents in a
    /// round's one-thread block, 0.25% of this many steps.</summary>
    internal const int MaxWideStretch = 16 * MaxStretch;

    private readonly GatherStores _stores = new();
    private bool _storesAsked;
    private bool _storesPaused;
    private bool _answeredOne;
    private int _lastAll;
    private int _batch;

    /// <summary>Whether the last decision chose one thread (tests).</summary>
    internal bool ChoseOne => ChoseSecond;

    /// <summary>The steps this chooser has put on one thread where their size asked for more (tests).</summary>
    internal long OneThreadSteps { get; private set; }

    /// <summary>The steps whose batch gather this chooser has given ordinary stores (tests).</summary>
    internal long OrdinaryGathers { get; private set; }

    /// <summary>The choice of the batch gather's stores (tests).</summary>
    internal GatherStores Stores => _stores;

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
            _stores.Restart();
            _batch = batchSize;
        }
    }

    /// <summary>
    /// The threads for the next step, given <paramref name="all"/>, the threads its size asks for. A step that is not
    /// <paramref name="timed"/> (a short last batch) runs on the current choice and does not count.
    /// </summary>
    public int Threads(int all, bool timed)
    {
        _storesAsked = false;
        _answeredOne = true;
        if (all <= 1)
        {
            return 1;
        }

        if (timed && all != _lastAll)
        {
            // The thread limit changed (a callback set Parallelism.DegreeOfParallelism, or this is the first step): what
            // was timed was another step; the first steps on more threads also allocate their buffers.
            Reset();
            _stores.Restart();
            _lastAll = all;
        }

        bool one = Second(timed);
        if (one)
        {
            OneThreadSteps++;
        }

        _answeredOne = one;
        return one ? 1 : all;
    }

    /// <summary>
    /// Whether the batch gather of the next step, which several threads share, writes with streaming stores
    /// (<see cref="BatchGather.Run"/>); asked after <see cref="Threads"/>, for such steps only, with the same
    /// <paramref name="timed"/>. The stores are timed only in the stretches on all the threads, so that the blocks
    /// that time the threads run the stores chosen so far, and a round of theirs broken off by a round of the threads
    /// starts again. After a one-thread answer: streaming, with nothing asked (that step's gather does not split).
    /// </summary>
    public bool StreamingGather(bool timed)
    {
        if (_answeredOne)
        {
            // A one-thread step's gather does not split: nothing to choose, nothing to time.
            return true;
        }

        // Past the check above, a stretch that is running is one on all the threads.
        bool probing = timed && Running;
        if (probing && _storesPaused)
        {
            _stores.Resume();
        }

        if (timed)
        {
            // A thread round's steps break a round of the stores off; a short last batch, which the threads do not count
            // either, does not.
            _storesPaused = !probing;
        }

        _storesAsked = probing;
        bool streaming = _stores.Streaming(probing);
        OrdinaryGathers += streaming ? 0 : 1;
        return streaming;
    }

    /// <summary>
    /// Records the duration of a step run on <see cref="Threads"/>'s answer, in any unit; <paramref name="all"/> and
    /// <paramref name="timed"/> as given there. It times the threads, and where <see cref="StreamingGather"/> timed the
    /// step's stores, those too.
    /// </summary>
    public void Record(long ticks, int all, bool timed)
    {
        if (all <= 1 || !timed)
        {
            return;
        }

        Record(ticks, timed);
        if (_storesAsked)
        {
            _stores.Time(ticks, timed);
        }
    }

    protected override int NextStretch(bool second, double gap, int stretch)
    {
        if (second)
        {
            return gap >= WideGap ? MaxOneStretch : gap > SteadyGap ? Math.Min(stretch * 2, MaxOneStretch) : FirstStretch;
        }

        if (gap >= WideGap)
        {
            // A block on one thread costs (one / all - 1) steps of all threads a step: on many threads far ahead the
            // stretch grows with that ratio, so that the one-thread blocks stay a few tenths of a percent of the time.
            return (int)Math.Min(MaxStretch * Math.Max(1.0, gap), MaxWideStretch);
        }

        return gap > SteadyGap ? Math.Min(stretch * 2, MaxStretch) : FirstStretch;
    }

    /// <summary>
    /// The batch gather's stores on several threads, chosen by timing the steps: streaming stores (the first way) or
    /// ordinary ones. The step reads every row of the batch on every core; which costs less depends on where the host
    /// puts the vCPUs. On an AMD EPYC Zen 5 with 2 real cores, 784-128-10 at batch 128 on two threads, steps of
    /// 150-156 µs streaming against 171-183 µs with ordinary stores while the vCPUs were far apart (a cache line's
    /// round trip 430-470 ns), and 123-126 against 110-114 µs while they were close (130-170 ns): streamed, the rows go to
    /// memory and every core reads them from there; stored in a cache, the other core takes them across, which costs
    /// little between close cores, and the next gather takes them back, line by line, which costs much between far ones.
    /// </summary>
    internal sealed class GatherStores : TimedChoice
    {
        /// <summary>Whether the next step's gather streams; <paramref name="timed"/> as for <see cref="Threads"/>.</summary>
        public bool Streaming(bool timed) => !Second(timed);

        /// <summary>Records the duration of a step whose gather <see cref="Streaming"/> chose.</summary>
        public void Time(long ticks, bool timed) => Record(ticks, timed);

        /// <summary>Starts afresh: the steps to come are not the ones timed so far.</summary>
        public void Restart() => Reset();

        /// <summary>Goes on after steps that were not timed here: a round broken off starts again.</summary>
        public void Resume() => RestartRound();

        /// <summary>Whether the last decision chose ordinary stores (tests).</summary>
        internal bool ChoseOrdinary => ChoseSecond;

        protected override int NextStretch(bool second, double gap, int stretch) =>
            gap > SteadyGap ? Math.Min(stretch * 2, StepThreadChooser.MaxStretch) : FirstStretch;
    }
}
