"""Operations that change data: they flush, the caller commits."""
