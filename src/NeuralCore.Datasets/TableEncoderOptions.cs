namespace NeuralCore.Data;

/// <summary>What a <see cref="TableEncoder"/> makes of its label column.</summary>
public enum LabelKind
{
    /// <summary>
    /// Class labels when any of the column's fields is not a number, real-valued targets when all are: a label of
    /// integer-coded classes (0, 1, 2) reads as a quantity, so give <see cref="Classes"/> for it.
    /// </summary>
    Auto,

    /// <summary>Class labels: each distinct value, by its text, is a class (numbers in numeric order, so "1" and "1.0" are two; text in ordinal order).</summary>
    Classes,

    /// <summary>Real-valued regression targets: every field must be a finite number.</summary>
    Targets,
}

/// <summary>What a <see cref="TableEncoder"/> does with a category it did not see when it was fitted.</summary>
public enum UnknownCategories
{
    /// <summary>Refuse it, naming the row, the column and the value (scikit-learn's <c>handle_unknown='error'</c>).</summary>
    Error,

    /// <summary>Encode it as all zeros in its column's one-hot block (scikit-learn's <c>handle_unknown='ignore'</c>).</summary>
    AllZero,
}

/// <summary>What a <see cref="TableEncoder"/> does with a missing value in a numeric column.</summary>
public enum MissingNumbers
{
    /// <summary>Refuse it, naming the row and the column.</summary>
    Error,

    /// <summary>Replace it with the column's mean over the fitting table's values (scikit-learn's <c>SimpleImputer</c>).</summary>
    Mean,
}

/// <summary>How <see cref="TableEncoder.Fit"/> reads the columns of a <see cref="TextTable"/>.</summary>
/// <remarks>
/// A feature column is numeric when every field that is not a missing marker reads as a number (invariant culture,
/// with <see cref="DecimalSeparator"/>), and categorical (one-hot encoded) otherwise. Two cases are refused instead,
/// naming a row: a column mostly of numbers whose other values each occur once (a typo would otherwise make a
/// measurement categorical; a word that recurs, as "5more" beside 2, 3 and 4, makes the column categorical), and a
/// column mostly of numbers written with the other decimal separator or with thousands separators. In a categorical
/// column a missing marker is a category like any other.
/// </remarks>
public sealed record TableEncoderOptions
{
    /// <summary>Columns to one-hot encode even though they hold numbers (a code such as a postcode or a product id). Default: none.</summary>
    public IReadOnlyCollection<string> Categorical { get; init => field = value ?? throw new ArgumentNullException(nameof(Categorical)); } = [];

    /// <summary>Columns left out of the features (an identifier, free text). Default: none.</summary>
    public IReadOnlyCollection<string> Ignore { get; init => field = value ?? throw new ArgumentNullException(nameof(Ignore)); } = [];

    /// <summary>What the label column holds. Default: <see cref="LabelKind.Auto"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a value the enum does not define.</exception>
    public LabelKind LabelKind { get; init => field = Defined(value, nameof(LabelKind)); } = LabelKind.Auto;

    /// <summary>What an unseen category becomes when a table is encoded. Default: <see cref="UnknownCategories.Error"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a value the enum does not define.</exception>
    public UnknownCategories UnknownCategories { get; init => field = Defined(value, nameof(UnknownCategories)); } = UnknownCategories.Error;

    /// <summary>What a missing value in a numeric column becomes. Default: <see cref="MissingNumbers.Error"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a value the enum does not define.</exception>
    public MissingNumbers MissingNumbers { get; init => field = Defined(value, nameof(MissingNumbers)); } = MissingNumbers.Error;

    /// <summary>
    /// The decimal separator of the file's numbers: '.' (the default, as in <c>1.5</c>) or ',' (<c>1,5</c>, as
    /// semicolon-separated exports in many European locales write them). Numbers take no thousands separators either way.
    /// A column mostly of numbers written with the other separator (<c>1,5</c> or <c>1,000</c> read with '.', <c>1.5</c>
    /// read with ',') is refused at fitting, naming this option.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to anything but '.' or ','.</exception>
    public char DecimalSeparator
    {
        get;
        init => field = value is '.' or ',' ? value : throw new ArgumentOutOfRangeException(nameof(DecimalSeparator), value, $"Expected '.' or ','. Received: DecimalSeparator='{value}'.");
    } = '.';

    /// <summary>
    /// The fields read as missing values (compared exactly, after the reader's trimming). Default: the empty field,
    /// <c>NA</c>, <c>N/A</c>, <c>NaN</c>, <c>null</c> and <c>?</c> (as UCI's files mark them).
    /// </summary>
    public IReadOnlyCollection<string> MissingMarkers { get; init => field = value ?? throw new ArgumentNullException(nameof(MissingMarkers)); } =
        ["", "NA", "N/A", "NaN", "null", "?"];

    /// <summary>
    /// The most categories one column may have (one feature each); a column with more is refused at fitting, since it
    /// is more likely an identifier or free text than a category. Default 1,000; at least 1.
    /// </summary>
    public int MaxCategories
    {
        get;
        init
        {
            Check.AtLeast(value, 1, nameof(MaxCategories), "a maximum number of categories");
            field = value;
        }
    } = 1000;

    private static T Defined<T>(T value, string name)
        where T : struct, Enum =>
        Enum.IsDefined(value) ? value : throw new ArgumentOutOfRangeException(name, value, $"Expected one of {string.Join(", ", Enum.GetNames<T>())}. Received: {name}={value}.");
}
