# --- helper (every module)
def rms_norm(self, x: Tensor, w: Tensor) -> Tensor:
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

# --- helper (every module)

def int8_linear(self, x: Tensor, w: __torch__.torch.classes.quantized.LinearPackedParamsBase) -> Tensor:
    return quantized.linear_dynamic(x, w, True)

# --- encoder.block.0
def forward(self, x, mask_bias):
    y = self.rms_norm(x, getattr(self.layer, '0').layer_norm.weight)
    B = y.size(0)
    T = y.size(1)
    S = y.size(1)
    A = self.num_heads * self.head_dim
    q = self.int8_linear(y, getattr(self.layer, '0').SelfAttention.q.int8)
    k = self.int8_linear(y, getattr(self.layer, '0').SelfAttention.k.int8)
    v = self.int8_linear(y, getattr(self.layer, '0').SelfAttention.v.int8)
    q = q.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)
    k = k.view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
    v = v.view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
    scores = torch.matmul(q, k.transpose(-1, -2)) + mask_bias
    probs = torch.dropout(torch.softmax(scores, -1), self.dropout_p, self.training)
    ctx = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, A)
    a = self.int8_linear(ctx, getattr(self.layer, '0').SelfAttention.o.int8)
    a = torch.dropout(a, self.dropout_p, self.training)
    x = x + a
    y = self.rms_norm(x, getattr(self.layer, '1').layer_norm.weight)
    h = torch.relu(self.int8_linear(y, getattr(self.layer, '1').DenseReluDense.wi.int8))
    h = torch.dropout(h, self.dropout_p, self.training)
    h = self.int8_linear(h, getattr(self.layer, '1').DenseReluDense.wo.int8)
    h = torch.dropout(h, self.dropout_p, self.training)
    return x + h

# --- encoder.block.1
def forward(self, x, mask_bias):
    y = self.rms_norm(x, getattr(self.layer, '0').layer_norm.weight)
    B = y.size(0)
    T = y.size(1)
    S = y.size(1)
    A = self.num_heads * self.head_dim
    q = self.int8_linear(y, getattr(self.layer, '0').SelfAttention.q.int8)
    k = self.int8_linear(y, getattr(self.layer, '0').SelfAttention.k.int8)
    v = self.int8_linear(y, getattr(self.layer, '0').SelfAttention.v.int8)
    q = q.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)
    k = k.view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
    v = v.view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
    scores = torch.matmul(q, k.transpose(-1, -2)) + mask_bias
    probs = torch.dropout(torch.softmax(scores, -1), self.dropout_p, self.training)
    ctx = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, A)
    a = self.int8_linear(ctx, getattr(self.layer, '0').SelfAttention.o.int8)
    a = torch.dropout(a, self.dropout_p, self.training)
    x = x + a
    y = self.rms_norm(x, getattr(self.layer, '1').layer_norm.weight)
    h = torch.relu(self.int8_linear(y, getattr(self.layer, '1').DenseReluDense.wi.int8))
    h = torch.dropout(h, self.dropout_p, self.training)
    h = self.int8_linear(h, getattr(self.layer, '1').DenseReluDense.wo.int8)
    h = torch.dropout(h, self.dropout_p, self.training)
    return x + h

# --- decoder.block.0
def forward(self, x, mask_bias, enc, enc_bias):
    y = self.rms_norm(x, getattr(self.layer, '0').layer_norm.weight)
    B = y.size(0)
    T = y.size(1)
    S = y.size(1)
    A = self.num_heads * self.head_dim
    q = self.int8_linear(y, getattr(self.layer, '0').SelfAttention.q.int8)
    k = self.int8_linear(y, getattr(self.layer, '0').SelfAttention.k.int8)
    v = self.int8_linear(y, getattr(self.layer, '0').SelfAttention.v.int8)
    q = q.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)
    k = k.view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
    v = v.view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
    scores = torch.matmul(q, k.transpose(-1, -2)) + mask_bias
    probs = torch.dropout(torch.softmax(scores, -1), self.dropout_p, self.training)
    ctx = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, A)
    a = self.int8_linear(ctx, getattr(self.layer, '0').SelfAttention.o.int8)
    a = torch.dropout(a, self.dropout_p, self.training)
    x = x + a
    y = self.rms_norm(x, getattr(self.layer, '1').layer_norm.weight)
    B = y.size(0)
    T = y.size(1)
    S = enc.size(1)
    A = self.cross_heads * self.head_dim
    q = self.int8_linear(y, getattr(self.layer, '1').EncDecAttention.q.int8)
    k = self.int8_linear(enc, getattr(self.layer, '1').EncDecAttention.k.int8)
    v = self.int8_linear(enc, getattr(self.layer, '1').EncDecAttention.v.int8)
    q = q.view(B, T, self.cross_heads, self.head_dim).transpose(1, 2)
    k = k.view(B, S, self.cross_heads, self.head_dim).transpose(1, 2)
    v = v.view(B, S, self.cross_heads, self.head_dim).transpose(1, 2)
    scores = torch.matmul(q, k.transpose(-1, -2)) + enc_bias
    probs = torch.dropout(torch.softmax(scores, -1), self.dropout_p, self.training)
    ctx = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, A)
    c = self.int8_linear(ctx, getattr(self.layer, '1').EncDecAttention.o.int8)
    x = x + torch.dropout(c, self.dropout_p, self.training)
    y = self.rms_norm(x, getattr(self.layer, '2').layer_norm.weight)
    h = torch.relu(self.int8_linear(y, getattr(self.layer, '2').DenseReluDense.wi.int8))
    h = torch.dropout(h, self.dropout_p, self.training)
    h = self.int8_linear(h, getattr(self.layer, '2').DenseReluDense.wo.int8)
    h = torch.dropout(h, self.dropout_p, self.training)
    return x + h

# --- decoder.block.1
def forward(self, x, mask_bias, enc, enc_bias):
    y = self.rms_norm(x, getattr(self.layer, '0').layer_norm.weight)
    B = y.size(0)
    T = y.size(1)
    S = y.size(1)
    A = self.num_heads * self.head_dim
    q = self.int8_linear(y, getattr(self.layer, '0').SelfAttention.q.int8)
    k = self.int8_linear(y, getattr(self.layer, '0').SelfAttention.k.int8)
    v = self.int8_linear(y, getattr(self.layer, '0').SelfAttention.v.int8)
    q = q.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)
    k = k.view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
    v = v.view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
    scores = torch.matmul(q, k.transpose(-1, -2)) + mask_bias
    probs = torch.dropout(torch.softmax(scores, -1), self.dropout_p, self.training)
    ctx = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, A)
    a = self.int8_linear(ctx, getattr(self.layer, '0').SelfAttention.o.int8)
    a = torch.dropout(a, self.dropout_p, self.training)
    x = x + a
    y = self.rms_norm(x, getattr(self.layer, '1').layer_norm.weight)
    B = y.size(0)
    T = y.size(1)
    S = enc.size(1)
    A = self.cross_heads * self.head_dim
    q = self.int8_linear(y, getattr(self.layer, '1').EncDecAttention.q.int8)
    k = self.int8_linear(enc, getattr(self.layer, '1').EncDecAttention.k.int8)
    v = self.int8_linear(enc, getattr(self.layer, '1').EncDecAttention.v.int8)
    q = q.view(B, T, self.cross_heads, self.head_dim).transpose(1, 2)
    k = k.view(B, S, self.cross_heads, self.head_dim).transpose(1, 2)
    v = v.view(B, S, self.cross_heads, self.head_dim).transpose(1, 2)
    scores = torch.matmul(q, k.transpose(-1, -2)) + enc_bias
    probs = torch.dropout(torch.softmax(scores, -1), self.dropout_p, self.training)
    ctx = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, A)
    c = self.int8_linear(ctx, getattr(self.layer, '1').EncDecAttention.o.int8)
    x = x + torch.dropout(c, self.dropout_p, self.training)
    y = self.rms_norm(x, getattr(self.layer, '2').layer_norm.weight)
    h = torch.relu(self.int8_linear(y, getattr(self.layer, '2').DenseReluDense.wi.int8))
    h = torch.dropout(h, self.dropout_p, self.training)
    h = self.int8_linear(h, getattr(self.layer, '2').DenseReluDense.wo.int8)
    h = torch.dropout(h, self.dropout_p, self.training)
    return x + h

# --- root
def relative_bias(self, table: Tensor, q_len: int, k_len: int, bidirectional: bool) -> Tensor:
    rel = torch.arange(k_len, device=table.device).unsqueeze(0) - torch.arange(q_len, device=table.device).unsqueeze(1)
    nb = 32
    buckets = torch.zeros_like(rel)
    if bidirectional:
        nb = nb // 2
        buckets = buckets + rel.gt(0).long() * nb
        rel = torch.abs(rel)
    else:
        rel = -torch.min(rel, torch.zeros_like(rel))
    exact = nb // 2
    log_range = 2.7725887222397811
    if not bidirectional:
        log_range = 2.0794415416798357
    large = exact + (torch.log(rel.float() / exact) / log_range * (nb - exact)).long()
    large = torch.min(large, torch.full_like(large, nb - 1))
    buckets = buckets + torch.where(rel.lt(exact), rel, large)
    return torch.embedding(table, buckets).permute([2, 0, 1]).unsqueeze(0)

# --- root
def encode_hidden(self, input_ids: Tensor, attention_mask: Tensor) -> Tuple[Tensor, List[Tensor]]:
    x = torch.dropout((torch.embedding(self.shared.weight_int8, input_ids).float() * torch.embedding(self.shared.weight_scale, input_ids)), self.dropout_p, self.training)
    T = input_ids.size(1)
    mask_bias = (1.0 - attention_mask.to(x.dtype)).unsqueeze(1).unsqueeze(2) * -3.4028234663852886e+38
    bias = self.relative_bias(getattr(getattr(self.encoder.block, '0').layer, '0').SelfAttention.relative_attention_bias.weight, T, T, True) + mask_bias
    hidden = [x]
    x = getattr(self.encoder.block, '0').forward(x, bias)
    hidden.append(x)
    x = getattr(self.encoder.block, '1').forward(x, bias)
    hidden.append(x)
    x = torch.dropout(self.rms_norm(x, self.encoder.final_layer_norm.weight), self.dropout_p, self.training)
    return x, hidden

# --- root
def decode(self, decoder_input_ids: Tensor, enc: Tensor, attention_mask: Tensor) -> Tensor:
    x = torch.dropout((torch.embedding(self.shared.weight_int8, decoder_input_ids).float() * torch.embedding(self.shared.weight_scale, decoder_input_ids)), self.dropout_p, self.training)
    T = decoder_input_ids.size(1)
    order = torch.cumsum(torch.ones_like(decoder_input_ids[0]), 0)
    future = order.unsqueeze(0) > order.unsqueeze(1)
    bias = self.relative_bias(getattr(getattr(self.decoder.block, '0').layer, '0').SelfAttention.relative_attention_bias.weight, T, T, False) + future.to(x.dtype) * -3.4028234663852886e+38
    enc_bias = (1.0 - attention_mask.to(x.dtype)).unsqueeze(1).unsqueeze(2) * -3.4028234663852886e+38
    x = getattr(self.decoder.block, '0').forward(x, bias, enc, enc_bias)
    x = getattr(self.decoder.block, '1').forward(x, bias, enc, enc_bias)
    x = torch.dropout(self.rms_norm(x, self.decoder.final_layer_norm.weight), self.dropout_p, self.training)
    x = x * self.output_scale
    return self.int8_linear(x, self.lm_head_int8)

# --- root
def forward(self, input_ids, attention_mask, decoder_input_ids):
    enc = self.encode_hidden(input_ids, attention_mask)[0]
    return (self.decode(decoder_input_ids, enc, attention_mask), enc)

