"""The values MinMaxScalerTests.Fitted_statistics_and_results_are_scikit_learns expects (scikit-learn 1.2.1, Debian's
python3-sklearn): MinMaxScaler over the float32 training rows below, given as float64, for the feature ranges (0, 1)
and (-1, 1); the test rows transformed and back, each rounded once to float32."""
import numpy as np
from sklearn.preprocessing import MinMaxScaler

train = np.array([[1.5, 10, -3.25], [0.1, 10, 7], [2.2, 10, 1e-3]], dtype=np.float32).astype(np.float64)
test = np.array([[0.3, 11, -1], [4, 9.5, 2]], dtype=np.float32).astype(np.float64)
for feature_range in [(0, 1), (-1, 1)]:
    s = MinMaxScaler(feature_range=feature_range).fit(train)
    print(feature_range, "data_min", s.data_min_.tolist(), "data_max", s.data_max_.tolist(), "scale", s.scale_.tolist(), "min", s.min_.tolist())
    scaled = s.transform(test).astype(np.float32)
    print("  transform", [repr(float(v)) for v in scaled.ravel()])
    print("  inverse", [repr(float(v)) for v in s.inverse_transform(scaled.astype(np.float64)).astype(np.float32).ravel()])
