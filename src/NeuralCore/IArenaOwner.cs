namespace NeuralCore;

/// <summary>
/// The owner of the arena behind a layer's or an optimizer's public views (a model). While it trains it may hold part
/// of the arena in another order (the first dense layer's weights, their gradients and the optimizer's state for them,
/// in that layer's products' order), so it is asked before such a view is handed out.
/// </summary>
internal interface IArenaOwner
{
    /// <summary>
    /// Before the caller gets <paramref name="view"/> (the property's name) of <paramref name="component"/>: puts the
    /// arena back in its public order where it can, and throws <see cref="InvalidOperationException"/> where it must not
    /// (a callback of Fit that said it reads nothing between steps).
    /// </summary>
    void BeforeView(object component, string view);
}
