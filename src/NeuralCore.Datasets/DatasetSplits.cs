namespace NeuralCore.Data;

/// <summary>Training and validation splits, optionally shuffled and stratified by class.</summary>
public static class DatasetSplits
{
    /// <summary>
    /// Splits off <paramref name="validationFraction"/> of the samples for validation. Without shuffling or
    /// stratification this is Keras's rule (<see cref="Dataset.Split"/>: the last samples validate), which on data sorted
    /// by class gives a validation set of the last classes only. <paramref name="shuffle"/> draws the validation samples
    /// at random (seeded); <paramref name="stratify"/> draws the same fraction from every class (scikit-learn's
    /// <c>train_test_split(stratify=y)</c>: each class gives <c>round(fraction × its count)</c> samples, at least one
    /// when it has two or more), so that both parts hold every class in the data's proportions. The parts keep the
    /// data's order unless <paramref name="shuffle"/> is set, in which case they are shuffled too.
    /// </summary>
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

            int splitAt = Dataset.SplitIndex(data.Count, validationFraction);
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

        var training = new List<int>(data.Count);
        var validation = new List<int>();
        foreach ((int c, List<int> members) in byClass)
        {
            // Each class draws its own permutation, so that one class's draw does not depend on the others' sizes.
            int[] order = Permutation.Create(members.Count, seed ^ (0x9E37_79B9_7F4A_7C15UL * (ulong)(c + 1)));
            int take = members.Count < 2 ? 0 : Math.Clamp((int)Math.Round(members.Count * validationFraction, MidpointRounding.AwayFromZero), 1, members.Count - 1);
            for (int i = 0; i < members.Count; i++)
            {
                (i < take ? validation : training).Add(members[order[i]]);
            }
        }

        if (training.Count == 0 || validation.Count == 0)
        {
            throw new ArgumentException(
                $"{data.Count} samples are too few to stratify with validationFraction={validationFraction}: a part would be empty.", nameof(validationFraction));
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
