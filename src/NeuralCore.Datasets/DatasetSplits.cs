using System.Globalization;

namespace NeuralCore.Data;

/// <summary>Training and validation splits, and k-fold cross-validation, optionally shuffled and stratified by class.</summary>
public static class DatasetSplits
{
    /// <summary>
    /// Splits off <paramref name="validationFraction"/> of the samples for validation. Without shuffling or
    /// stratification this is Keras's rule (<see cref="Dataset.Split"/>: the last samples validate), which on data sorted
    /// by class gives a validation set of the last classes only. <paramref name="shuffle"/> draws the validation samples
    /// at random (seeded); <paramref name="stratify"/> draws the same fraction from every class, so that both parts
    /// hold the classes in the data's proportions. The parts keep the data's order unless <paramref name="shuffle"/> is
    /// set, in which case they are shuffled too.
    /// </summary>
    /// <remarks>
    /// Shuffled, the validation part holds <c>ceil(fraction × count)</c> samples, as scikit-learn's
    /// <c>train_test_split</c> and <see cref="Dataset.SplitShuffled"/>; in order, Keras's <c>floor(count × (1 - fraction))</c>
    /// train (the two differ by one where the product is not exact in double). Stratified sizes are scikit-learn's <c>train_test_split(stratify=y)</c>: <c>ceil(fraction × count)</c> samples
    /// validate, and each class's share of the training part is its proportion of it rounded down, the samples left over
    /// going to the classes with the largest remainders (scikit-learn breaks ties among them at random, this in class
    /// order). A class of one sample, which scikit-learn refuses, trains (so fewer validate where such classes need more
    /// room than the training part has); as in scikit-learn, a small class may end up wholly in one part.
    /// </remarks>
    /// <param name="data">The samples; stratifying needs class labels.</param>
    /// <param name="validationFraction">The fraction held out, in (0, 1).</param>
    /// <param name="shuffle">Whether to draw the validation samples at random and shuffle both parts.</param>
    /// <param name="stratify">Whether to take the fraction from each class.</param>
    /// <param name="seed">The seed of the draws.</param>
    /// <returns>The training and validation sets (copies).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="validationFraction"/> is not in (0, 1).</exception>
    /// <exception cref="ArgumentException">Either part would be empty, or <paramref name="stratify"/> is set for data without labels.</exception>
    public static (Dataset Training, Dataset Validation) TrainValidation(Dataset data, double validationFraction, bool shuffle = false,
        bool stratify = false, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(data);
        Check.InRange(validationFraction, 0f, 1f, "()", nameof(validationFraction), "a validation fraction");

        if (!stratify)
        {
            if (!shuffle)
            {
                return data.Split(validationFraction);
            }

            // scikit-learn's train_test_split sizes, as the stratified split and Dataset.SplitShuffled: Keras's rule
            // here gave 7 of 25 samples at 0.28 where those give 8 (25 × 0.72 is 18.000000000000004 in double).
            int held = (int)Math.Min(Math.Ceiling(validationFraction * data.Count), data.Count);
            int splitAt = data.Count - held;
            if (splitAt == 0)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"{data.Count} samples are too few to split into training and validation sets with validationFraction={validationFraction}: the training part would be empty."),
                    nameof(validationFraction));
            }

            int[] order = Permutation.Create(data.Count, seed);
            return (data.Subset(order.AsSpan(0, splitAt)), data.Subset(order.AsSpan(splitAt)));
        }

        if (!data.HasLabels)
        {
            throw new ArgumentException("Stratifying needs class labels; this dataset holds real-valued targets.", nameof(stratify));
        }

        // Grouped by the labels present, not by index up to the largest: one label of 100,000,000 must not cost a list
        // per value below it.
        int[] labels = data.Labels;
        var byClass = new SortedDictionary<int, List<int>>();
        for (int i = 0; i < labels.Length; i++)
        {
            if (!byClass.TryGetValue(labels[i], out List<int>? members))
            {
                byClass[labels[i]] = members = [];
            }

            members.Add(i);
        }

        // Rounding each class's share on its own gave 39 validation samples of iris at 0.25 where scikit-learn gives 38.
        int[] counts = [.. byClass.Values.Select(m => m.Count)];
        int singles = counts.Count(n => n == 1), validationTotal = (int)Math.Min(Math.Ceiling(validationFraction * data.Count), data.Count);
        int[] kept = ApproximateMode([.. counts.Select(n => n == 1 ? 0 : n)], data.Count - validationTotal - singles);
        var training = new List<int>(data.Count);
        var validation = new List<int>();
        int k = 0;
        foreach ((int c, List<int> members) in byClass)
        {
            // Each class draws its own permutation, so that one class's draw does not depend on the others' sizes.
            int[] order = Permutation.Create(members.Count, seed ^ (0x9E37_79B9_7F4A_7C15UL * (ulong)(c + 1)));
            int take = members.Count == 1 ? 0 : members.Count - kept[k];
            k++;
            for (int i = 0; i < members.Count; i++)
            {
                (i < take ? validation : training).Add(members[order[i]]);
            }
        }

        if (training.Count == 0 || validation.Count == 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{data.Count} samples are too few to stratify with validationFraction={validationFraction}: a part would be empty."), nameof(validationFraction));
        }

        int[] trainIndices = [.. training], validationIndices = [.. validation];
        if (shuffle)
        {
            Shuffle(trainIndices, seed + 1);
            Shuffle(validationIndices, seed + 2);
        }
        else
        {
            Array.Sort(trainIndices);
            Array.Sort(validationIndices);
        }

        return (data.Subset(trainIndices), data.Subset(validationIndices));
    }

    /// <summary>
    /// k-fold cross-validation (scikit-learn's <c>KFold</c>, or with <paramref name="stratify"/> its
    /// <c>StratifiedKFold</c>): the samples divided into <paramref name="folds"/> folds, and for each fold in turn the
    /// other samples to train and the fold to validate. Folds are produced one at a time as the sequence is read, each
    /// pair a copy, so that only one is held at once. The arguments are checked at the call. See
    /// <see cref="FoldAssignment(Dataset, int, bool, bool, ulong)"/> for how samples are assigned.
    /// </summary>
    /// <param name="data">The samples; stratifying needs class labels.</param>
    /// <param name="folds">k, from 2 to the number of samples.</param>
    /// <param name="shuffle">Whether folds are drawn at random (seeded) instead of following the data's order.</param>
    /// <param name="stratify">Whether each fold holds every class in about the data's proportions.</param>
    /// <param name="seed">The seed of the draws.</param>
    /// <returns>k pairs, fold 0 first: the training samples (every fold but one) and the validation samples (that fold), each in the data's order.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="data"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="folds"/> is below 2 or above the number of samples.</exception>
    /// <exception cref="ArgumentException"><paramref name="stratify"/> is set for data without class labels, or every class has fewer samples than <paramref name="folds"/>.</exception>
    public static IEnumerable<(Dataset Training, Dataset Validation)> KFold(Dataset data, int folds, bool shuffle = false, bool stratify = false, ulong seed = 0)
    {
        int[] assignment = FoldAssignment(data, folds, shuffle, stratify, seed);
        return Folds(data, assignment, folds);
    }

    /// <summary>
    /// The fold of every sample for <see cref="KFold"/>, for callers who keep indices rather than copies. Without
    /// stratification, as scikit-learn's <c>KFold</c>: the samples in order (or in a seeded random order with
    /// <paramref name="shuffle"/>) cut into k runs, the first <c>n mod k</c> one sample longer. With it, as
    /// <c>StratifiedKFold</c>: the samples lined up class by class (classes in the order they first appear) and dealt to
    /// the folds in turn, which fixes how many of each class every fold gets (fold sizes differ by at most one, and
    /// each class's counts too); then each class's samples take their folds in the data's order, or in a seeded random
    /// order with <paramref name="shuffle"/>. Without shuffling the folds are scikit-learn's exactly. A class with
    /// fewer samples than folds is missing from some folds' validation (scikit-learn warns); when every class is that
    /// small, stratifying is refused, as scikit-learn refuses it.
    /// </summary>
    /// <param name="data">The samples; stratifying needs class labels.</param>
    /// <param name="folds">k, from 2 to the number of samples.</param>
    /// <param name="shuffle">Whether folds are drawn at random (seeded).</param>
    /// <param name="stratify">Whether each fold holds every class in about the data's proportions.</param>
    /// <param name="seed">The seed of the draws.</param>
    /// <returns>For each sample, its fold in <c>[0, folds)</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="data"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="folds"/> is below 2 or above the number of samples.</exception>
    /// <exception cref="ArgumentException"><paramref name="stratify"/> is set for data without class labels, or every class has fewer samples than <paramref name="folds"/>.</exception>
    public static int[] FoldAssignment(Dataset data, int folds, bool shuffle = false, bool stratify = false, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!stratify)
        {
            return PlainFoldAssignment(data.Count, folds, shuffle, seed);
        }

        CheckFolds(data.Count, folds);
        if (!data.HasLabels)
        {
            throw new ArgumentException("Stratifying needs class labels; this dataset holds real-valued targets.", nameof(stratify));
        }

        return StratifiedFoldAssignment(data.Labels, folds, shuffle, seed);
    }

    /// <summary>
    /// The fold of each of <paramref name="count"/> items (rows of a table, say) for k-fold cross-validation, as
    /// scikit-learn's <c>KFold</c>: the items in order (or in a seeded random order with <paramref name="shuffle"/>) cut
    /// into k runs, the first <c>count mod k</c> one item longer.
    /// </summary>
    /// <param name="count">The number of items.</param>
    /// <param name="folds">k, from 2 to <paramref name="count"/>.</param>
    /// <param name="shuffle">Whether folds are drawn at random (seeded).</param>
    /// <param name="seed">The seed of the draws.</param>
    /// <returns>For each item, its fold in <c>[0, folds)</c>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="count"/> is negative or more than one array holds, or <paramref name="folds"/> is below 2 or above it.
    /// </exception>
    public static int[] PlainFoldAssignment(int count, int folds, bool shuffle = false, ulong seed = 0)
    {
        // Checked before the folds, whose message would otherwise blame folds for a negative count, and before
        // allocating, where a count past one array threw OutOfMemoryException.
        Check.NonNegative(count, nameof(count), "number of items");
        if (count > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, string.Create(CultureInfo.InvariantCulture,
                $"Expected at most {Array.MaxLength:N0} items, as many as one array holds. Received: count={count}."));
        }

        CheckFolds(count, folds);
        int[] fold = new int[count];
        int[]? order = shuffle ? Permutation.Create(count, seed) : null;
        for (int f = 0, position = 0; f < folds; f++)
        {
            int size = (count / folds) + (f < count % folds ? 1 : 0);
            for (int end = position + size; position < end; position++)
            {
                fold[order is null ? position : order[position]] = f;
            }
        }

        return fold;
    }

    /// <summary>
    /// The fold of each item of class <c>labels[i]</c> for stratified k-fold cross-validation, as scikit-learn's
    /// <c>StratifiedKFold</c> (see <see cref="FoldAssignment(Dataset, int, bool, bool, ulong)"/>): any integers serve as
    /// classes, so the labels of a table's text column can be given as codes.
    /// </summary>
    /// <param name="labels">Each item's class.</param>
    /// <param name="folds">k, from 2 to the number of items.</param>
    /// <param name="shuffle">Whether each class's folds are drawn at random (seeded).</param>
    /// <param name="seed">The seed of the draws.</param>
    /// <returns>For each item, its fold in <c>[0, folds)</c>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="folds"/> is below 2 or above the number of items.</exception>
    /// <exception cref="ArgumentException">Every class has fewer items than <paramref name="folds"/>.</exception>
    public static int[] StratifiedFoldAssignment(ReadOnlySpan<int> labels, int folds, bool shuffle = false, ulong seed = 0)
    {
        int n = labels.Length;
        CheckFolds(n, folds);

        // Classes in the order they first appear, each with its items in order.
        var members = new List<List<int>>();
        var classOf = new Dictionary<int, int>();
        for (int i = 0; i < n; i++)
        {
            if (!classOf.TryGetValue(labels[i], out int c))
            {
                classOf[labels[i]] = c = members.Count;
                members.Add([]);
            }

            members[c].Add(i);
        }

        int largest = members.Max(m => m.Count);
        if (largest < folds)
        {
            throw new ArgumentException(
                $"Stratified cross-validation needs a class with at least as many samples as folds ({folds}); the largest class here has {largest}. Use fewer folds.", nameof(folds));
        }

        // Lined up class by class, position p goes to fold p mod k: that fixes each class's count per fold.
        int[] fold = new int[n];
        int[] counts = new int[folds];
        int start = 0;
        for (int c = 0; c < members.Count; c++)
        {
            List<int> samples = members[c];
            Array.Clear(counts);
            for (int p = start; p < start + samples.Count; p++)
            {
                counts[p % folds]++;
            }

            start += samples.Count;

            // The class's folds in increasing order (counts[0] zeros, then counts[1] ones, ...), handed out in the
            // data's order or, shuffled, in each class's own draw.
            int[]? order = shuffle ? Permutation.Create(samples.Count, seed ^ (0x9E37_79B9_7F4A_7C15UL * (ulong)(c + 1))) : null;
            for (int f = 0, k = 0; f < folds; f++)
            {
                for (int j = 0; j < counts[f]; j++, k++)
                {
                    fold[samples[order is null ? k : order[k]]] = f;
                }
            }
        }

        return fold;
    }

    private static void CheckFolds(int count, int folds)
    {
        if (folds < 2 || folds > count)
        {
            throw new ArgumentOutOfRangeException(nameof(folds), folds,
                $"Cross-validation needs from 2 folds to one per sample ({count}); got {folds}.");
        }
    }

    private static IEnumerable<(Dataset Training, Dataset Validation)> Folds(Dataset data, int[] fold, int folds)
    {
        for (int f = 0; f < folds; f++)
        {
            var training = new List<int>(data.Count);
            var validation = new List<int>((data.Count / folds) + 1);
            for (int i = 0; i < fold.Length; i++)
            {
                (fold[i] == f ? validation : training).Add(i);
            }

            yield return (data.Subset(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(training)),
                data.Subset(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(validation)));
        }
    }

    /// <summary>
    /// scikit-learn's <c>_approximate_mode</c>: <paramref name="draws"/> samples shared among classes of these counts
    /// in proportion, each share rounded down and the rest given one by one to the largest remainders (ties in class
    /// order, where scikit-learn draws among them).
    /// </summary>
    private static int[] ApproximateMode(int[] counts, int draws)
    {
        long total = counts.Sum(n => (long)n);
        int[] shares = new int[counts.Length];
        if (total == 0 || draws <= 0)
        {
            return shares;
        }

        double[] remainders = new double[counts.Length];
        int left = draws;
        for (int c = 0; c < counts.Length; c++)
        {
            // scikit-learn's order, count / total * draws: draws * count / total rounds differently, and then ties (or
            // breaks them) where scikit-learn's result is fixed ([47, 27, 22, 54] at 0.2 gave 5 and 5 for its 6 and 4).
            double continuous = (double)counts[c] / total * draws;
            shares[c] = (int)Math.Floor(continuous);
            remainders[c] = continuous - shares[c];
            left -= shares[c];
        }

        foreach (double value in remainders.Distinct().OrderDescending())
        {
            for (int c = 0; c < counts.Length && left > 0; c++)
            {
                if (remainders[c] == value && shares[c] < counts[c])
                {
                    shares[c]++;
                    left--;
                }
            }
        }

        return shares;
    }

    private static void Shuffle(int[] indices, ulong seed)
    {
        int[] order = Permutation.Create(indices.Length, seed);
        int[] copy = (int[])indices.Clone();
        for (int i = 0; i < indices.Length; i++)
        {
            indices[i] = copy[order[i]];
        }
    }
}
