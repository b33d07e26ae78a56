# --- helper (every module)
def masked_norm(self, x: Tensor, w: Tensor, b: Tensor) -> Tensor:
    m = self.hidden_mask
    n = m.sum()
    mean = (x * m).sum(-1, keepdim=True) / n
    d = (x - mean) * m
    var = (d * d).sum(-1, keepdim=True) / n
    return d * torch.rsqrt(var + self.eps) * w + b * m

# --- electra.encoder.layer.0
def forward(self, x, mask_bias):
    B = x.size(0)
    T = x.size(1)
    S = x.size(1)
    A = self.num_heads * self.head_dim
    q = torch.linear(x, self.attention.self.query.weight, self.attention.self.query.bias)
    k = torch.linear(x, self.attention.self.key.weight, self.attention.self.key.bias)
    v = torch.linear(x, self.attention.self.value.weight, self.attention.self.value.bias)
    q = q.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)
    k = k.view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
    v = v.view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
    scores = torch.matmul(q, k.transpose(-1, -2)) / self.scale + mask_bias
    probs = torch.dropout(torch.softmax(scores, -1), self.dropout_p, self.training)
    ctx = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, A)
    a = torch.linear(ctx, self.attention.output.dense.weight, self.attention.output.dense.bias)
    a = torch.dropout(a, self.dropout_p, self.training)
    x = self.masked_norm(a + x, self.attention.output.LayerNorm.weight, self.attention.output.LayerNorm.bias)
    h = torch.gelu(torch.linear(x, self.intermediate.dense.weight, self.intermediate.dense.bias))
    h = torch.linear(h, self.output.dense.weight, self.output.dense.bias)
    h = torch.dropout(h, self.dropout_p, self.training)
    return self.masked_norm(h + x, self.output.LayerNorm.weight, self.output.LayerNorm.bias)

# --- electra.encoder.layer.1
def forward(self, x, mask_bias):
    B = x.size(0)
    T = x.size(1)
    S = x.size(1)
    A = self.num_heads * self.head_dim
    q = torch.linear(x, self.attention.self.query.weight, self.attention.self.query.bias)
    k = torch.linear(x, self.attention.self.key.weight, self.attention.self.key.bias)
    v = torch.linear(x, self.attention.self.value.weight, self.attention.self.value.bias)
    q = q.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)
    k = k.view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
    v = v.view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
    scores = torch.matmul(q, k.transpose(-1, -2)) / self.scale + mask_bias
    probs = torch.dropout(torch.softmax(scores, -1), self.dropout_p, self.training)
    ctx = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, A)
    a = torch.linear(ctx, self.attention.output.dense.weight, self.attention.output.dense.bias)
    a = torch.dropout(a, self.dropout_p, self.training)
    x = self.masked_norm(a + x, self.attention.output.LayerNorm.weight, self.attention.output.LayerNorm.bias)
    h = torch.gelu(torch.linear(x, self.intermediate.dense.weight, self.intermediate.dense.bias))
    h = torch.linear(h, self.output.dense.weight, self.output.dense.bias)
    h = torch.dropout(h, self.dropout_p, self.training)
    return self.masked_norm(h + x, self.output.LayerNorm.weight, self.output.LayerNorm.bias)

# --- root
def forward(self, input_ids, attention_mask):
    token_type_ids = torch.zeros_like(input_ids)
    positions = torch.cumsum(torch.ones_like(input_ids), 1) - 1
    x = torch.embedding(self.electra.embeddings.word_embeddings.weight, input_ids)
    x = x + torch.embedding(self.electra.embeddings.token_type_embeddings.weight, token_type_ids)
    x = x + torch.embedding(self.electra.embeddings.position_embeddings.weight, positions)
    x = torch.layer_norm(x, [self.electra.embeddings.LayerNorm.weight.size(0)], self.electra.embeddings.LayerNorm.weight, self.electra.embeddings.LayerNorm.bias, self.eps)
    x = torch.dropout(x, self.dropout_p, self.training)
    x = torch.linear(x, self.electra.embeddings_project.weight, self.electra.embeddings_project.bias) * self.hidden_mask
    mask_bias = (1.0 - attention_mask.to(x.dtype)).unsqueeze(1).unsqueeze(2) * -3.4028234663852886e+38
    x = getattr(self.electra.encoder.layer, '0').forward(x, mask_bias)
    x = getattr(self.electra.encoder.layer, '1').forward(x, mask_bias)
    first = x.select(1, 0)
    h = torch.dropout(first, self.dropout_p, self.training)
    h = torch.gelu(torch.linear(h, self.classifier.dense.weight, self.classifier.dense.bias))
    logits = torch.linear(torch.dropout(h, self.dropout_p, self.training), self.classifier.out_proj.weight, self.classifier.out_proj.bias)
    return (logits,)

# --- root
def forward_hidden(self, input_ids, attention_mask) -> Tuple[Tensor, List[Tensor]]:
    token_type_ids = torch.zeros_like(input_ids)
    positions = torch.cumsum(torch.ones_like(input_ids), 1) - 1
    x = torch.embedding(self.electra.embeddings.word_embeddings.weight, input_ids)
    x = x + torch.embedding(self.electra.embeddings.token_type_embeddings.weight, token_type_ids)
    x = x + torch.embedding(self.electra.embeddings.position_embeddings.weight, positions)
    x = torch.layer_norm(x, [self.electra.embeddings.LayerNorm.weight.size(0)], self.electra.embeddings.LayerNorm.weight, self.electra.embeddings.LayerNorm.bias, self.eps)
    x = torch.dropout(x, self.dropout_p, self.training)
    x = torch.linear(x, self.electra.embeddings_project.weight, self.electra.embeddings_project.bias) * self.hidden_mask
    mask_bias = (1.0 - attention_mask.to(x.dtype)).unsqueeze(1).unsqueeze(2) * -3.4028234663852886e+38
    hidden = [x]
    x = getattr(self.electra.encoder.layer, '0').forward(x, mask_bias)
    hidden.append(x)
    x = getattr(self.electra.encoder.layer, '1').forward(x, mask_bias)
    hidden.append(x)
    first = x.select(1, 0)
    h = torch.dropout(first, self.dropout_p, self.training)
    h = torch.gelu(torch.linear(h, self.classifier.dense.weight, self.classifier.dense.bias))
    logits = torch.linear(torch.dropout(h, self.dropout_p, self.training), self.classifier.out_proj.weight, self.classifier.out_proj.bias)
    return logits, hidden

